/**
 * Wraps gRPC handlers so that every error leaves with a stable code: PyroErrors keep
 * theirs; anything else is logged with its cause and leaves as `internal`, without its text.
 */
import type { HandlerContext } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { PyroError, toConnectError } from "../../../sdk/src/errors.js";
import type { Logger } from "../logger.js";

function map(err: unknown, log: Logger, method: string): ConnectError {
  if (err instanceof PyroError || err instanceof ConnectError) {
    if (err instanceof PyroError) log.info("request failed", { method, code: err.code, message: err.message });
    return toConnectError(err);
  }
  log.error("internal error", { method, error: err });
  return toConnectError(err);
}

export function unary<I, O>(log: Logger, method: string, fn: (req: I, ctx: HandlerContext) => Promise<O> | O) {
  return async (req: I, ctx: HandlerContext): Promise<O> => {
    try {
      return await fn(req, ctx);
    } catch (err) {
      throw map(err, log, method);
    }
  };
}

export function streaming<I, O>(log: Logger, method: string, fn: (req: I, ctx: HandlerContext) => AsyncIterable<O>) {
  return async function* (req: I, ctx: HandlerContext): AsyncGenerator<O> {
    try {
      yield* fn(req, ctx);
    } catch (err) {
      throw map(err, log, method);
    }
  };
}
