/**
 * The manager's HTTP/2 request handler: pyro.manager.v1 over the gRPC protocol, with every
 * request capped at the transport (`readMaxBytes`: a larger message is refused as soon as
 * its length prefix arrives, before it is buffered) and every request that could not be
 * read — too large, not protobuf, strings that are not UTF-8 — answered as `invalid_argument`.
 *
 * Connect decodes a request before any handler or interceptor of a unary method runs, and
 * reports what it could not decode as `internal`, as it does its own failures. So the
 * mapping sits here, once for every method: a failed request that never reached its
 * handler (REACHED_HANDLER, set by the service guard) failed on its bytes.
 */
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { cut } from "../../../sdk/src/echo.js";
import { PyroError, toConnectError } from "../../../sdk/src/errors.js";
import type { Logger } from "../logger.js";
import { REACHED_HANDLER } from "./guard.js";

export interface GrpcHandlerOptions {
  routes: (router: ConnectRouter) => void;
  /** The largest request message accepted, in bytes. */
  readMaxBytes: number;
  log: Logger;
}

/** The error a request gets when its bytes could not be read as the method's input. */
function unreadable(cause: ConnectError, handler: UniversalHandler, readMaxBytes: number): PyroError {
  const input = handler.method.input.typeName;
  if (cause.code === Code.ResourceExhausted) {
    return new PyroError("invalid_argument", `the request is larger than the manager accepts (at most ${readMaxBytes} bytes)`, {
      hint: "send less: stdin and the command with its environment variables have size limits",
      cause,
    });
  }
  return new PyroError("invalid_argument", `the request could not be read as a ${input}: ${cut(cause.rawMessage)}`, {
    hint: `send a protobuf-encoded ${input} (strings in UTF-8), as the definitions in proto/ describe`,
    cause,
  });
}

/** A Node `http2` request listener serving `routes` (gRPC only: the manager's API is gRPC). */
export function grpcHandler(o: GrpcHandlerOptions): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  const router = createConnectRouter({ grpc: true, grpcWeb: false, connect: false, readMaxBytes: o.readMaxBytes });
  o.routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = handlers.get(req.url.split("?", 1)[0] ?? "");
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    const values = createContextValues();
    handler(universalRequestFromNodeRequest(req, res, undefined, values))
      .then((uRes) => {
        // A request is read (and refused) before the response begins, so by now its status is known.
        const trailer = uRes.trailer instanceof Headers ? uRes.trailer : undefined;
        const failed = trailer && findTrailerError(trailer);
        if (trailer && failed && !values.get(REACHED_HANDLER)) {
          const pe = unreadable(failed, handler, o.readMaxBytes);
          o.log.info("request refused", { method: handler.method.name, code: pe.code, message: pe.message });
          trailer.delete("grpc-status-details-bin");
          setTrailerStatus(trailer, toConnectError(pe));
        }
        return universalResponseToNodeResponse(uRes, res);
      })
      .catch((err: unknown) => {
        if (ConnectError.from(err).code !== Code.Aborted) o.log.warn("response failed", { method: handler.method.name, error: err });
      });
  };
}
