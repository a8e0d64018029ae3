/**
 * How the manager reaches a sandbox's agent: one seam, so each backend brings its own way
 * (a Unix socket the manager bound for the namespace and host backends; a Firecracker vsock
 * socket, with its `CONNECT <port>` exchange, later). The connection above it dials through
 * it again whenever the last connection broke, so a dialer must only ever reach the
 * sandbox's own agent: the namespace backend's socket sits in a directory only the manager
 * can write.
 */
import { lstatSync } from "node:fs";
import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";

/** Opens a fresh byte stream to the agent; rejects when `signal` aborts first. */
export type AgentDialer = (signal: AbortSignal) => Promise<Duplex>;

/** Dials the Unix socket at `socketPath`, refusing a path that is not a socket (e.g. a symlink planted there). */
export function dialUnixSocket(socketPath: string): AgentDialer {
  return (signal) =>
    new Promise<Duplex>((ok, fail) => {
      if (signal.aborted) return fail(signal.reason as Error);
      if (!lstatSync(socketPath, { throwIfNoEntry: false })?.isSocket()) return fail(new Error(`${socketPath} is not a socket`));
      const socket = netConnect(socketPath);
      // For the socket's whole life: an error after the handshake is the session's to report
      // (node:http2 listens too), and one between here and then must not reach the process.
      socket.on("error", () => {});
      const done = (err?: Error) => {
        signal.removeEventListener("abort", onAbort);
        socket.off("connect", onConnect);
        socket.off("error", onError);
        if (!err) return ok(socket);
        socket.destroy();
        fail(err);
      };
      const onConnect = () => done();
      const onError = (err: Error) => done(err);
      const onAbort = () => done(signal.reason instanceof Error ? signal.reason : new Error("dialling the agent was cancelled"));
      socket.once("connect", onConnect);
      socket.once("error", onError);
      signal.addEventListener("abort", onAbort, { once: true });
    });
}
