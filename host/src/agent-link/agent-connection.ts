/**
 * The manager's one HTTP/2 connection to a sandbox's agent. The agent shares its sandbox
 * with the command, so every byte on this connection is untrusted, and nothing on it may
 * reach the manager's process:
 *
 * - The session has an 'error' listener for its whole life. node:http2 throws an 'error'
 *   that no one listens to as an uncaught exception, and connect-node's Http2SessionManager
 *   removes its listener when it aborts a session that has already failed but not yet
 *   emitted (a PING or SETTINGS flood does exactly that): that took the whole manager down.
 * - Any failure (an error, a GOAWAY, a close, a PING left unanswered) ends the connection;
 *   the calls on it fail, and so does every later call, with the same reason.
 * - While a call is open, a PING every few quiet seconds proves the agent still reads: after
 *   garbage, nghttp2 ends the session by itself but tells Node nothing, and the call would
 *   wait forever.
 * - It dials once and never again: the agent's socket lives where the sandbox can write, so
 *   a second dial could reach whatever the path points at by then.
 */
import { connect as netConnect, type Socket } from "node:net";
import { lstatSync } from "node:fs";
import * as http2 from "node:http2";
import type { Duplex } from "node:stream";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

/** What connect-node asks of a session manager (its interface is not exported by name). */
type SessionManager = NonNullable<Parameters<typeof createGrpcTransport>[0]["sessionManager"]>;

/** Bounds every message read from an agent. */
export const AGENT_READ_MAX_BYTES = 4 << 20;
/** HTTP/2 flow-control window per stream (the connection's is twice this): what an agent may send ahead of the manager's reading. */
const WINDOW_BYTES = 4 << 20;
const AUTHORITY = "http://localhost";

export interface AgentConnectionOptions {
  /** Bounds every message read from the agent. */
  readMaxBytes?: number;
  /** With a call open, how long the connection may be quiet before a PING checks on the agent. */
  keepaliveMs?: number;
  /** How long the agent has to answer that PING before the connection is ended. */
  pingTimeoutMs?: number;
  /** Told once, with the reason, when the connection ends for any reason but close(). */
  onFailure?: (err: Error) => void;
}

/** Dials the agent's Unix socket, refusing a path that is not a socket (e.g. a symlink the sandbox planted). */
export function dialUnixSocket(socketPath: string): () => Socket {
  return () => {
    if (!lstatSync(socketPath, { throwIfNoEntry: false })?.isSocket()) throw new Error(`${socketPath} is not a socket`);
    return netConnect(socketPath);
  };
}

export class AgentConnection implements SessionManager {
  readonly authority = AUTHORITY;
  /** The gRPC transport for clients of this agent. */
  readonly transport: Transport;
  readonly #dial: () => Duplex;
  readonly #o: Required<Omit<AgentConnectionOptions, "onFailure">> & Pick<AgentConnectionOptions, "onFailure">;
  #session: http2.ClientHttp2Session | undefined;
  #dialed = false;
  #failure: Error | undefined;
  #closed = false;
  #openStreams = 0;
  #lastAliveAt = 0;
  #keepalive: NodeJS.Timeout | undefined;
  #pinging = false;

  constructor(dial: () => Duplex, opts: AgentConnectionOptions = {}) {
    this.#dial = dial;
    // An honest agent answers a PING from its event loop within milliseconds; 15 s leaves room
    // for a loaded host (and a sandbox spinning at its CPU quota) before a run is failed.
    this.#o = { readMaxBytes: AGENT_READ_MAX_BYTES, keepaliveMs: 2_000, pingTimeoutMs: 15_000, ...opts };
    this.transport = createGrpcTransport({
      baseUrl: AUTHORITY,
      sessionManager: this,
      readMaxBytes: this.#o.readMaxBytes,
      // Over a local socket compression buys nothing, and decompressing is work an agent could make us do.
      acceptCompression: [],
    });
  }

  /** Why the connection ended; undefined while it is usable. */
  get failure(): Error | undefined {
    // A destroyed session emits its 'error' only once its socket has closed.
    if (!this.#failure && this.#session?.destroyed) this.#end(new ConnectError("the connection to the sandbox's agent broke", Code.Unavailable));
    return this.#failure;
  }

  /** Ends the connection; calls still open fail. */
  close(): void {
    this.#closed = true;
    this.#end(new ConnectError("the connection to the sandbox's agent was closed", Code.Canceled));
  }

  /** Part of NodeHttp2ClientSessionManager: opens a stream for one call. */
  async request(method: string, path: string, headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions): Promise<http2.ClientHttp2Stream> {
    const session = this.#open();
    const stream = session.request({ ...headers, ":method": method, ":path": path }, options);
    this.#openStreams++;
    if (this.#openStreams === 1) {
      session.ref();
      this.#startKeepalive();
    }
    // A session that fails destroys its streams with its error at once, and emits it itself only later.
    stream.once("error", (err) => {
      if (session.destroyed) this.#end(err);
    });
    stream.once("close", () => {
      this.#openStreams--;
      if (this.#openStreams > 0) return;
      this.#stopKeepalive();
      if (!session.destroyed) session.unref();
    });
    return stream;
  }

  /** Part of NodeHttp2ClientSessionManager: bytes arrived, so the agent is alive. */
  notifyResponseByteRead(): void {
    this.#lastAliveAt = performance.now();
  }

  #open(): http2.ClientHttp2Session {
    const failure = this.failure;
    if (failure) throw failure;
    if (this.#session) return this.#session;
    if (this.#dialed) throw new ConnectError("the connection to the sandbox's agent is gone", Code.Unavailable);
    this.#dialed = true;
    try {
      const session = http2.connect(AUTHORITY, { createConnection: () => this.#dial(), settings: { enablePush: false, initialWindowSize: WINDOW_BYTES } });
      // Output comes in messages of up to 1 MiB: let a few be in flight, not 64 KiB (HTTP/2's default window).
      session.once("connect", () => session.setLocalWindowSize(WINDOW_BYTES * 2));
      // For the session's whole life, never removed: see the top of this file.
      session.on("error", (err) => this.#end(err));
      session.on("goaway", (code) => this.#end(new ConnectError(`the sandbox's agent sent GOAWAY (code ${code})`, Code.Unavailable)));
      session.on("close", () => this.#end(new ConnectError("the sandbox's agent closed the connection", Code.Unavailable)));
      // An idle connection (a pooled sandbox's) does not keep the process alive; an open call does.
      session.unref();
      this.#session = session;
      return session;
    } catch (err) {
      this.#end(err instanceof Error ? err : new Error(String(err)));
      throw this.#failure;
    }
  }

  /** Records the first reason the connection ended and tears it down; later calls are no-ops. */
  #end(reason: Error): void {
    if (this.#failure) return;
    this.#failure = reason;
    this.#stopKeepalive();
    const session = this.#session;
    // Open streams fail with `reason`; the session's own 'error' comes back to the listener above.
    if (session && !session.destroyed) session.destroy(reason, http2.constants.NGHTTP2_CANCEL);
    if (!this.#closed) this.#o.onFailure?.(reason);
  }

  #startKeepalive(): void {
    this.#lastAliveAt = performance.now();
    this.#keepalive = setInterval(() => this.#checkAlive(), Math.max(100, Math.floor(this.#o.keepaliveMs / 2)));
    this.#keepalive.unref();
  }

  #stopKeepalive(): void {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }

  #checkAlive(): void {
    const session = this.#session;
    if (!session || this.#failure || this.#pinging || performance.now() - this.#lastAliveAt < this.#o.keepaliveMs) return;
    this.#pinging = true;
    const timer = setTimeout(
      () => this.#end(new ConnectError(`the sandbox's agent did not answer a PING within ${this.#o.pingTimeoutMs} ms`, Code.Unavailable)),
      this.#o.pingTimeoutMs,
    );
    timer.unref();
    try {
      session.ping((err) => {
        clearTimeout(timer);
        this.#pinging = false;
        if (!err) this.#lastAliveAt = performance.now();
      });
    } catch (err) {
      clearTimeout(timer);
      this.#end(err as Error);
    }
  }
}
