/** gRPC (HTTP/2) transports over a Unix socket, for clients of the manager socket. */
import { connect, type Socket } from "node:net";
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

export interface UnixTransport {
  transport: Transport;
  /** Closes the HTTP/2 session (pending calls fail). */
  close(): void;
}

export interface UnixTransportOptions {
  /** Bounds every message read from the peer. */
  readMaxBytes?: number;
}

/** A gRPC transport to `socketPath`. */
export function unixTransport(socketPath: string, opts: UnixTransportOptions = {}): UnixTransport {
  const sessionManager = new Http2SessionManager("http://localhost", {}, { createConnection: (): Socket => connect(socketPath) });
  const transport = createGrpcTransport({
    baseUrl: "http://localhost",
    sessionManager,
    readMaxBytes: opts.readMaxBytes ?? 16 << 20,
  });
  return { transport, close: () => sessionManager.abort() };
}
