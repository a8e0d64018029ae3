/**
 * What the CLI reads and writes, passed in rather than reached for, so tests can run the
 * whole CLI in-process with fake streams and a fake client.
 */
import type { Readable, Writable } from "node:stream";
import type { Env, PyroClient, PyroOptions } from "../../sdk/src/types.js";

/** An output stream; `isTTY`/`columns` as on process.stdout. */
export type OutStream = Writable & { isTTY?: boolean; columns?: number };

export interface CliIo {
  stdin: Readable;
  stdout: OutStream;
  stderr: OutStream;
  env: Env;
  /** Aborted when the user interrupts (SIGINT/SIGTERM); calls in flight are cancelled. */
  signal: AbortSignal;
  /** Makes the manager client (the real one loads the SDK lazily; tests pass a fake). */
  createClient(opts: PyroOptions): PyroClient | Promise<PyroClient>;
}

/** The real process's io: its streams and environment, and an abort signal wired to SIGINT/SIGTERM. */
export function processIo(): CliIo {
  const interrupts = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // A second interrupt means "now": do not wait for cancellation to finish.
    if (++count > 1) process.exit(sig === "SIGINT" ? 130 : 143);
    interrupts.abort(new Error(`interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: interrupts.signal,
    async createClient(opts) {
      const { Pyro } = await import("../../sdk/src/client.js");
      return new Pyro(opts);
    },
  };
}

/** Resolves once `stream` can take more (a `'drain'`), or can take nothing ever again (closed or failed). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      stream.off("error", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
    stream.on("error", done);
  });
}

/**
 * Writes `data` and, when the stream's buffer is full, returns a promise that settles once
 * it drained: whoever awaits it stops producing meanwhile, so a slow reader of pyro's output
 * slows the command instead of filling pyro's memory. Nothing to wait for: undefined.
 */
export function writeWithBackpressure(stream: Writable, data: Uint8Array): Promise<void> | undefined {
  if (stream.write(data)) return undefined;
  return drained(stream);
}

/** Resolves once everything written to `stream` so far has left the process (or the stream is gone). */
export function flushed(stream: Writable): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed || stream.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    // Writes complete in order: the callback of an empty write comes after every earlier one.
    stream.write("", () => resolve());
    void drained(stream).then(() => {
      if (stream.destroyed) resolve();
    });
  });
}
