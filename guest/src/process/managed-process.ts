/**
 * One process of the table: spawned in its own process group, its stdout and stderr read
 * into bounded rings (output-ring.ts), its exit recorded, its timeout enforced on the whole
 * group. Readers attach with a cursor per stream; while one of them lags by nearly a whole
 * ring, that stream's pipe is paused (the process then blocks on write, as with a slow pipe
 * reader), so an attached reader never loses output. With no reader attached the pipes are
 * read freely and the rings keep the most recent output.
 *
 * The process is `finished` once it has exited and its pipes are done: closed, or, when a
 * background child keeps them open, quiet for a moment after the exit with nothing held back.
 */
import type { ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { PyroError } from "../../../sdk/src/errors.js";
import { OutputRing } from "./output-ring.js";

export type StreamName = "stdout" | "stderr";

/** Room kept in a ring above the lag at which a pipe pauses: two pipe reads (64 KiB each). */
export const PAUSE_HEADROOM = 128 << 10;
export const STREAMS: readonly StreamName[] = ["stdout", "stderr"];

/** How a process ended. */
export interface ExitStatus {
  /** 0–255, or -1 when a signal ended it. */
  exitCode: number;
  /** The signal that ended it ("SIGKILL"), or "". */
  signal: string;
  durationMs: number;
  /** True when its timeout killed the group. */
  timedOut: boolean;
}

export type Cursor = Record<StreamName, number>;

/** An attached reader's position in each stream. */
export interface ProcessReader {
  readonly cursor: Readonly<Cursor>;
  /** The reader has taken everything before `offset` in `stream`. */
  advance(stream: StreamName, offset: number): void;
  detach(): void;
}

export interface ManagedProcessOptions {
  id: number;
  argv: string[];
  tag: string;
  child: ChildProcess;
  startedAt: number;
  /** Bytes kept per stream. */
  bufferBytes: number;
  /** 0 means none. */
  timeoutMs: number;
  /** After the exit, how long the pipes must be quiet before they are let go. */
  drainGraceMs: number;
  /** Told once the process has finished. */
  onFinish: (p: ManagedProcess) => void;
}

/** Sends `signal` to process group `pgid` (0: only checks it); false when it has no members. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export class ManagedProcess {
  readonly id: number;
  readonly pid: number;
  readonly argv: readonly string[];
  readonly tag: string;
  readonly rings: Record<StreamName, OutputRing>;
  readonly #o: ManagedProcessOptions;
  readonly #pipes: Record<StreamName, Readable>;
  readonly #paused: Record<StreamName, boolean> = { stdout: false, stderr: false };
  readonly #readers = new Set<Cursor>();
  #waiters: Array<() => void> = [];
  #seq = 0;
  #openPipes = 2;
  #lastDataAt = performance.now();
  #exit: ExitStatus | undefined;
  #finished = false;
  #timedOut = false;
  #timer: NodeJS.Timeout | undefined;
  #stdin: Writable | undefined;

  constructor(o: ManagedProcessOptions) {
    this.#o = o;
    this.id = o.id;
    this.pid = o.child.pid!;
    this.argv = o.argv;
    this.tag = o.tag;
    this.rings = { stdout: new OutputRing(o.bufferBytes), stderr: new OutputRing(o.bufferBytes) };
    // Errors after spawn (none are expected: signals go to the group by pid) must not reach the process.
    o.child.on("error", () => {});
    this.#pipes = { stdout: o.child.stdout!, stderr: o.child.stderr! };
    for (const s of STREAMS) this.#read(s);
    if (o.child.stdin) {
      this.#stdin = o.child.stdin;
      // The process may exit without reading its input.
      this.#stdin.on("error", () => (this.#stdin = undefined));
      this.#stdin.once("close", () => (this.#stdin = undefined));
    }
    o.child.once("exit", (code, signal) => this.#exited(code, signal));
    if (o.timeoutMs > 0) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.kill();
      }, o.timeoutMs);
    }
  }

  /** How it ended, once it has finished (exited, and every byte of its output is in the rings). */
  get exit(): ExitStatus | undefined {
    return this.#finished ? this.#exit : undefined;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** True until the process itself has exited (its output may still be coming). */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** True while a pipe is paused for a lagging reader: nothing more comes until it reads. */
  get holding(): boolean {
    return this.#paused.stdout || this.#paused.stderr;
  }

  /** True while its standard input takes SendInput. */
  get stdinOpen(): boolean {
    return this.#stdin !== undefined && this.#stdin.writable;
  }

  /** Attaches a reader at `from`; it holds the pipes back rather than let output it has not read be dropped. */
  attach(from: Cursor): ProcessReader {
    const cursor: Cursor = { ...from };
    this.#readers.add(cursor);
    const advance = (stream: StreamName, offset: number) => {
      cursor[stream] = offset;
      this.#flow(stream);
    };
    const detach = () => {
      if (!this.#readers.delete(cursor)) return;
      for (const s of STREAMS) this.#flow(s);
    };
    return { cursor, advance, detach };
  }

  /** Resolves at the next change (output, exit, finish) or when `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    if (this.#finished || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Sends `signal` to the whole process group; false when the group has no members left. */
  signal(signal: NodeJS.Signals): boolean {
    return signalGroup(this.pid, signal);
  }

  /** Kills the whole process group. */
  kill(): void {
    signalGroup(this.pid, "SIGKILL");
  }

  /** Writes `data` to standard input (resolving once the pipe took it) and closes it when `close`. */
  async write(data: Uint8Array, close: boolean, signal: AbortSignal): Promise<void> {
    const stdin = this.#stdin;
    if (!stdin?.writable) throw new PyroError("invalid_argument", `process ${this.id} has no open standard input`);
    if (data.length > 0) {
      await new Promise<void>((ok, fail) => {
        const onAbort = () => fail(new PyroError("cancelled", "the input was not taken before the call ended"));
        signal.addEventListener("abort", onAbort, { once: true });
        stdin.write(data, (err) => {
          signal.removeEventListener("abort", onAbort);
          if (err) fail(new PyroError("invalid_argument", `process ${this.id} closed its standard input`));
          else ok();
        });
      });
    }
    if (close) stdin.end();
  }

  #read(stream: StreamName): void {
    const pipe = this.#pipes[stream];
    pipe.on("data", (data: Buffer) => {
      this.#lastDataAt = performance.now();
      this.rings[stream].push(data, ++this.#seq);
      // Node resumes a child's pipes when the child exits (child_process's flushStdio): hold them again.
      if (this.#paused[stream]) pipe.pause();
      this.#flow(stream);
      this.#notify();
    });
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      pipe.removeAllListeners("data");
      this.#openPipes--;
      this.#maybeFinish();
    };
    pipe.once("end", end);
    pipe.once("error", end);
    pipe.once("close", end);
  }

  /**
   * Pauses `stream`'s pipe while a reader lags by more than the ring less PAUSE_HEADROOM (a
   * read or two may still come after a pause); resumes it once the lag is down to half a ring.
   */
  #flow(stream: StreamName): void {
    const ring = this.rings[stream];
    let lag = 0;
    for (const c of this.#readers) lag = Math.max(lag, ring.end - Math.max(c[stream], ring.oldest));
    const pipe = this.#pipes[stream];
    if (!this.#paused[stream] && lag > ring.capacity - PAUSE_HEADROOM) {
      this.#paused[stream] = true;
      pipe.pause();
    } else if (this.#paused[stream] && lag <= ring.capacity / 2) {
      this.#paused[stream] = false;
      pipe.resume();
    }
  }

  #exited(code: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(this.#timer);
    this.#exit = { exitCode: code ?? -1, signal: signal ?? "", durationMs: Math.round(performance.now() - this.#o.startedAt), timedOut: this.#timedOut };
    this.#stdin?.destroy();
    this.#detachWhenQuiet();
    this.#maybeFinish();
  }

  /**
   * After the exit, a background child may hold the pipes open forever: read on while output
   * comes (or waits for a reader), then let them go. Output still coming, or held back for an
   * attached reader, is never cut off.
   */
  #detachWhenQuiet(): void {
    const quietMs = this.#o.drainGraceMs;
    const check = () => {
      if (this.#openPipes === 0) return;
      if (!this.holding && performance.now() - this.#lastDataAt >= quietMs) {
        for (const s of STREAMS) this.#pipes[s].destroy();
        return;
      }
      setTimeout(check, quietMs).unref();
    };
    setTimeout(check, quietMs).unref();
  }

  #maybeFinish(): void {
    if (this.#finished || !this.#exit || this.#openPipes > 0) return;
    this.#finished = true;
    this.#notify();
    this.#o.onFinish(this);
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
