/** gRPC (HTTP/2) transports over a Unix socket, for the manager socket and for agent sockets. */
import { lstatSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

export interface UnixTransport {
  transport: Transport;
  /** Closes the HTTP/2 session (pending calls fail). */
  close(): void;
}

export interface UnixTransportOptions {
  /** Bounds every message read from the peer: the host sets it low for agents, whose output is untrusted. */
  readMaxBytes?: number;
  /**
   * Connect at most once. For agent sockets, which live in a directory the sandbox can
   * write: the one connection is made before any command runs, and is never remade to
   * whatever the path may point at later.
   */
  connectOnce?: boolean;
}

/** A gRPC transport to `socketPath`. */
export function unixTransport(socketPath: string, opts: UnixTransportOptions = {}): UnixTransport {
  let connected = false;
  const createConnection = (): Socket => {
    if (opts.connectOnce) {
      if (connected) throw new Error(`refusing to reconnect to ${socketPath}: the first connection is gone`);
      connected = true;
      if (!lstatSync(socketPath, { throwIfNoEntry: false })?.isSocket()) throw new Error(`${socketPath} is not a socket`);
    }
    return connect(socketPath);
  };
  // No idle disconnects: a pooled sandbox's one connection must last until it is used.
  const sessionManager = new Http2SessionManager("http://localhost", opts.connectOnce ? { idleConnectionTimeoutMs: 2 ** 31 - 1 } : {}, { createConnection });
  const transport = createGrpcTransport({
    baseUrl: "http://localhost",
    sessionManager,
    readMaxBytes: opts.readMaxBytes ?? 16 << 20,
  });
  return { transport, close: () => sessionManager.abort() };
}
