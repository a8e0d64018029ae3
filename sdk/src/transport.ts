/** gRPC (HTTP/2) transports over a Unix socket, for clients of the manager socket. */
import { connect, type Socket } from "node:net";
import type * as http2 from "node:http2";
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

/** HTTP/2 flow-control window per stream: a large output message (1 MiB) does not wait for a round trip per 64 KiB. */
const WINDOW_BYTES = 4 << 20;

export interface UnixTransport {
  transport: Transport;
  /** Closes the HTTP/2 session (pending calls fail). */
  close(): void;
}

export interface UnixTransportOptions {
  /** Bounds every message read from the peer. */
  readMaxBytes?: number;
}

/**
 * Http2SessionManager whose sessions can never throw an uncaught 'error'. When it aborts a
 * session that has failed but not yet emitted its 'error' (a flood or garbage from the
 * peer does that), it removes its own listener first, and node:http2 then throws the error
 * out of the process. The failure still reaches every call on the session through its
 * streams; this listener only keeps it from reaching the process.
 */
class GuardedSessionManager extends Http2SessionManager {
  readonly #guarded = new WeakSet<http2.Http2Session>();

  override async request(...args: Parameters<Http2SessionManager["request"]>): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session && !this.#guarded.has(session)) {
      this.#guarded.add(session);
      session.on("error", () => {});
      // Room for a few large output messages in flight, as on each stream (initialWindowSize).
      if (!session.destroyed) session.setLocalWindowSize(WINDOW_BYTES * 2);
    }
    return stream;
  }
}

/** A gRPC transport to `socketPath`. */
export function unixTransport(socketPath: string, opts: UnixTransportOptions = {}): UnixTransport {
  const sessionManager = new GuardedSessionManager("http://localhost", {}, { createConnection: (): Socket => connect(socketPath), settings: { initialWindowSize: WINDOW_BYTES } });
  const transport = createGrpcTransport({
    baseUrl: "http://localhost",
    sessionManager,
    readMaxBytes: opts.readMaxBytes ?? 16 << 20,
  });
  return { transport, close: () => sessionManager.abort() };
}
