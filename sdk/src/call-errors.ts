/** How a failed call to the manager is told apart: nothing listening, the connection lost, or an error the manager sent. */
import { ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../proto/gen/pyro/common/v1/error_pb.js";
import { PyroError } from "./errors.js";

/** Socket errors that mean nothing listens there (yet): worth starting a manager. */
const NOT_LISTENING = new Set(["ENOENT", "ECONNREFUSED"]);
/** Socket errors that mean the manager cannot be reached at all. */
const UNREACHABLE = new Set([...NOT_LISTENING, "ECONNRESET", "EPIPE", "EACCES", "EPERM", "ENOTSOCK", "ENOTDIR", "ERR_HTTP2_SESSION_ERROR", "ERR_HTTP2_GOAWAY_SESSION"]);

/** The errno-style code of the socket error under a failed call, if that is why it failed. */
export function socketErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && UNREACHABLE.has(code)) return code;
  }
  return undefined;
}

/** True when a server sent this error with a stable pyro code (not a transport failure). */
export function hasErrorDetail(err: unknown): boolean {
  return err instanceof ConnectError && err.findDetails(ErrorDetailSchema).length > 0;
}

export function isNotListening(err: unknown): boolean {
  const code = socketErrorCode(err);
  return code !== undefined && NOT_LISTENING.has(code);
}

/** Rejects with `cancelled` when `signal` aborts first. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new PyroError("cancelled", "cancelled while waiting for the manager"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PyroError("cancelled", "cancelled while waiting for the manager"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
