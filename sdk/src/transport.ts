/** gRPC (HTTP/2) transports over a Unix socket, for the manager socket and for agent sockets. */
import { connect } from "node:net";
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

export interface UnixTransport {
  transport: Transport;
  /** Closes the HTTP/2 session (pending calls fail). */
  close(): void;
}

/**
 * A gRPC transport to `socketPath`. `readMaxBytes` bounds every message read from the peer:
 * the host sets it low for agents, whose output is untrusted.
 */
export function unixTransport(socketPath: string, opts: { readMaxBytes?: number } = {}): UnixTransport {
  const sessionManager = new Http2SessionManager("http://localhost", {}, {
    createConnection: () => connect(socketPath),
  });
  const transport = createGrpcTransport({
    baseUrl: "http://localhost",
    sessionManager,
    readMaxBytes: opts.readMaxBytes ?? 16 << 20,
  });
  return { transport, close: () => sessionManager.abort() };
}
