/**
 * Wraps gRPC handlers so that every error leaves with a stable code: PyroErrors keep
 * theirs; anything else is logged with its cause and leaves as `internal`, without its text.
 * Messages are cut before they are logged or sent: they may echo hostile input of any size.
 */
import type { HandlerContext } from "@connectrpc/connect";
import { ConnectError, createContextKey } from "@connectrpc/connect";
import { cut } from "../../../sdk/src/echo.js";
import { PyroError, toConnectError } from "../../../sdk/src/errors.js";
import type { Logger } from "../logger.js";

/**
 * Set once a request has reached its handler, i.e. it was read and decoded: a request that
 * failed without it never got that far (see grpc-handler.ts).
 */
export const REACHED_HANDLER = createContextKey(false, { description: "pyro: the request reached its handler" });

/** A message fit to echo: at most a few KiB, whatever input it quotes. */
const MESSAGE_MAX_CHARS = 2048;

function map(err: unknown, log: Logger, method: string): ConnectError {
  if (err instanceof PyroError) {
    const message = cut(err.message, MESSAGE_MAX_CHARS);
    log.info("request failed", { method, code: err.code, message });
    if (message === err.message && err.hint.length <= MESSAGE_MAX_CHARS) return toConnectError(err);
    return toConnectError(new PyroError(err.code, message, { hint: cut(err.hint, MESSAGE_MAX_CHARS), data: err.data, cause: err }));
  }
  if (err instanceof ConnectError) return err;
  log.error("internal error", { method, error: err });
  return toConnectError(err);
}

export function unary<I, O>(log: Logger, method: string, fn: (req: I, ctx: HandlerContext) => Promise<O> | O) {
  return async (req: I, ctx: HandlerContext): Promise<O> => {
    ctx.values.set(REACHED_HANDLER, true);
    try {
      return await fn(req, ctx);
    } catch (err) {
      throw map(err, log, method);
    }
  };
}

export function streaming<I, O>(log: Logger, method: string, fn: (req: I, ctx: HandlerContext) => AsyncIterable<O>) {
  return async function* (req: I, ctx: HandlerContext): AsyncGenerator<O> {
    ctx.values.set(REACHED_HANDLER, true);
    try {
      yield* fn(req, ctx);
    } catch (err) {
      throw map(err, log, method);
    }
  };
}
