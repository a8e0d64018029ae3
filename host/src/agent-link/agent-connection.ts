/**
 * The manager's HTTP/2 connection to a sandbox's agent. The agent shares its sandbox with
 * the command, so every byte on this connection is untrusted, and nothing on it may reach
 * the manager's process:
 *
 * - Each session has an 'error' listener for its whole life. node:http2 throws an 'error'
 *   that no one listens to as an uncaught exception, and connect-node's Http2SessionManager
 *   removes its listener when it aborts a session that has already failed but not yet
 *   emitted (a PING or SETTINGS flood does exactly that): that took the whole manager down.
 * - Any failure (an error, a GOAWAY, a close, a PING left unanswered) ends that session; the
 *   calls on it fail with the reason.
 * - While a call is open, a PING every few quiet seconds proves the agent still reads: after
 *   garbage, nghttp2 ends the session by itself but tells Node nothing, and the call would
 *   wait forever.
 * - The next call after a failure dials again, through the backend's dialer (agent-dialer.ts):
 *   the agent restarted, the sandbox was stopped and started, or a new manager took it over.
 *   Dialling again is safe because the dialer reaches only the sandbox's own listening
 *   socket, bound by the manager where the sandbox cannot replace it; a hostile agent can
 *   fail each call it gets, never more than that.
 */
import * as http2 from "node:http2";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { AgentDialer } from "./agent-dialer.js";

/** What connect-node asks of a session manager (its interface is not exported by name). */
type SessionManager = NonNullable<Parameters<typeof createGrpcTransport>[0]["sessionManager"]>;

/** Bounds every message read from an agent. */
export const AGENT_READ_MAX_BYTES = 4 << 20;
/** HTTP/2 flow-control window per stream (the connection's is twice this): what an agent may send ahead of the manager's reading. */
const WINDOW_BYTES = 4 << 20;
const AUTHORITY = "http://localhost";
/** A dial reaches a local socket the manager bound: it connects at once or not at all. */
const DIAL_TIMEOUT_MS = 10_000;

export interface AgentConnectionOptions {
  /** Bounds every message read from the agent. */
  readMaxBytes?: number;
  /** With a call open, how long the connection may be quiet before a PING checks on the agent. */
  keepaliveMs?: number;
  /** How long the agent has to answer that PING before the connection is ended. */
  pingTimeoutMs?: number;
  /** Told once per connection, with the reason, when it ends for any reason but close() or reset(). */
  onFailure?: (err: Error) => void;
}

type Settings = Required<Omit<AgentConnectionOptions, "onFailure">>;

/** One HTTP/2 session on one dialled stream. */
class Link {
  failure: Error | undefined;
  lastAliveAt = 0;
  #openStreams = 0;
  #keepalive: NodeJS.Timeout | undefined;
  #pinging = false;
  #quiet = false;

  constructor(
    readonly session: http2.ClientHttp2Session,
    private readonly o: Settings,
    private readonly onEnd: (link: Link, reason: Error, quiet: boolean) => void,
  ) {
    // For the session's whole life, never removed: see the top of this file.
    session.on("error", (err) => this.end(err));
    session.on("goaway", (code) => this.end(new ConnectError(`the sandbox's agent sent GOAWAY (code ${code})`, Code.Unavailable)));
    session.on("close", () => this.end(new ConnectError("the sandbox's agent closed the connection", Code.Unavailable)));
    // An idle connection (a pooled sandbox's) does not keep the process alive; an open call does.
    session.unref();
  }

  /** Whether the session is still usable; a destroyed one emits its 'error' only once its socket has closed. */
  usable(): boolean {
    if (!this.failure && this.session.destroyed) this.end(new ConnectError("the connection to the sandbox's agent broke", Code.Unavailable));
    return !this.failure;
  }

  request(method: string, path: string, headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions): http2.ClientHttp2Stream {
    const session = this.session;
    const stream = session.request({ ...headers, ":method": method, ":path": path }, options);
    this.#openStreams++;
    if (this.#openStreams === 1) {
      session.ref();
      this.#startKeepalive();
    }
    // A session that fails destroys its streams with its error at once, and emits it itself only later.
    stream.once("error", (err) => {
      if (session.destroyed) this.end(err);
    });
    stream.once("close", () => {
      this.#openStreams--;
      if (this.#openStreams > 0) return;
      this.#stopKeepalive();
      if (!session.destroyed) session.unref();
    });
    return stream;
  }

  /** Records the first reason the session ended and tears it down; later calls are no-ops. `quiet`: ended on purpose. */
  end(reason: Error, quiet = false): void {
    if (this.failure) return;
    this.failure = reason;
    this.#quiet = quiet;
    this.#stopKeepalive();
    // Open streams fail with `reason`; the session's own 'error' comes back to the listener above.
    if (!this.session.destroyed) this.session.destroy(reason, http2.constants.NGHTTP2_CANCEL);
    this.onEnd(this, reason, this.#quiet);
  }

  #startKeepalive(): void {
    this.lastAliveAt = performance.now();
    this.#keepalive = setInterval(() => this.#checkAlive(), Math.max(100, Math.floor(this.o.keepaliveMs / 2)));
    this.#keepalive.unref();
  }

  #stopKeepalive(): void {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }

  #checkAlive(): void {
    if (this.failure || this.#pinging || performance.now() - this.lastAliveAt < this.o.keepaliveMs) return;
    this.#pinging = true;
    const timer = setTimeout(
      () => this.end(new ConnectError(`the sandbox's agent did not answer a PING within ${this.o.pingTimeoutMs} ms`, Code.Unavailable)),
      this.o.pingTimeoutMs,
    );
    timer.unref();
    try {
      this.session.ping((err) => {
        clearTimeout(timer);
        this.#pinging = false;
        if (!err) this.lastAliveAt = performance.now();
      });
    } catch (err) {
      clearTimeout(timer);
      this.end(err as Error);
    }
  }
}

export class AgentConnection implements SessionManager {
  readonly authority = AUTHORITY;
  /** The gRPC transport for clients of this agent. */
  readonly transport: Transport;
  readonly #dial: AgentDialer;
  readonly #o: Settings;
  readonly #onFailure?: (err: Error) => void;
  readonly #links = new WeakMap<http2.ClientHttp2Stream, Link>();
  /** Aborted by close(): ends a dial under way. */
  readonly #closing = new AbortController();
  #link: Link | undefined;
  #dialing: Promise<Link> | undefined;
  #lastFailure: Error | undefined;
  #closed = false;

  constructor(dial: AgentDialer, opts: AgentConnectionOptions = {}) {
    this.#dial = dial;
    // An honest agent answers a PING from its event loop within milliseconds; 15 s leaves room
    // for a loaded host (and a sandbox spinning at its CPU quota) before a run is failed.
    const { onFailure, ...settings } = opts;
    this.#o = { readMaxBytes: AGENT_READ_MAX_BYTES, keepaliveMs: 2_000, pingTimeoutMs: 15_000, ...settings };
    this.#onFailure = onFailure;
    this.transport = createGrpcTransport({
      baseUrl: AUTHORITY,
      sessionManager: this,
      readMaxBytes: this.#o.readMaxBytes,
      // Over a local socket compression buys nothing, and decompressing is work an agent could make us do.
      acceptCompression: [],
    });
  }

  /** Why the last connection ended; undefined while one is open, or before the first. */
  get failure(): Error | undefined {
    if (this.#link && this.#link.usable()) return undefined;
    return this.#link?.failure ?? this.#lastFailure;
  }

  /** Ends the connection for good; calls still open fail, later ones fail at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new ConnectError("the connection to the sandbox's agent was closed", Code.Canceled));
    this.#link?.end(new ConnectError("the connection to the sandbox's agent was closed", Code.Canceled), true);
  }

  /** Ends the current connection on purpose (its sandbox is stopping); the next call dials again. */
  reset(reason = "the sandbox was stopped"): void {
    this.#link?.end(new ConnectError(reason, Code.Unavailable), true);
  }

  /** Part of NodeHttp2ClientSessionManager: opens a stream for one call, dialling first when there is no usable connection. */
  async request(method: string, path: string, headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions): Promise<http2.ClientHttp2Stream> {
    const link = await this.#connect();
    const stream = link.request(method, path, headers, options);
    this.#links.set(stream, link);
    return stream;
  }

  /** Part of NodeHttp2ClientSessionManager: bytes arrived, so the agent is alive. */
  notifyResponseByteRead(stream: http2.ClientHttp2Stream): void {
    const link = this.#links.get(stream);
    if (link) link.lastAliveAt = performance.now();
  }

  #connect(): Promise<Link> {
    if (this.#closed) return Promise.reject(new ConnectError("the connection to the sandbox's agent was closed", Code.Canceled));
    if (this.#link?.usable()) return Promise.resolve(this.#link);
    this.#dialing ??= this.#open().finally(() => (this.#dialing = undefined));
    return this.#dialing;
  }

  async #open(): Promise<Link> {
    const signal = AbortSignal.any([this.#closing.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]);
    let stream;
    try {
      stream = await this.#dial(signal);
    } catch (err) {
      const reason = err instanceof ConnectError ? err : new ConnectError(`cannot reach the sandbox's agent: ${(err as Error).message}`, Code.Unavailable, undefined, undefined, err);
      this.#lastFailure = reason;
      throw reason;
    }
    if (this.#closed) {
      stream.destroy();
      throw new ConnectError("the connection to the sandbox's agent was closed", Code.Canceled);
    }
    let session: http2.ClientHttp2Session;
    try {
      session = http2.connect(AUTHORITY, { createConnection: () => stream, settings: { enablePush: false, initialWindowSize: WINDOW_BYTES } });
      // Output comes in messages of up to 1 MiB: let a few be in flight, not 64 KiB (HTTP/2's default window).
      session.once("connect", () => session.setLocalWindowSize(WINDOW_BYTES * 2));
    } catch (err) {
      stream.destroy();
      throw err;
    }
    const link = new Link(session, this.#o, (l, reason, quiet) => {
      if (this.#link === l) this.#link = undefined;
      this.#lastFailure = reason;
      if (!quiet && !this.#closed) this.#onFailure?.(reason);
    });
    this.#link = link;
    return link;
  }
}
