/**
 * Reading a process from a cursor: what its rings hold from there on, then live output as
 * it comes, then its exit. Output of the two streams comes in the order it was written (by
 * pipe read); consecutive reads of one stream go out as one chunk of up to `maxChunkBytes`,
 * so a fast writer costs a message per megabyte, not per 64 KiB pipe read.
 */
import type { Cursor, ExitStatus, ManagedProcess, StreamName } from "./managed-process.js";

/**
 * The largest chunk of output one event carries (the host refuses more than 1 MiB). Just
 * under 1 MiB, so the encoded message fits a 1 MiB buffer (the encoder doubles past it).
 */
export const MAX_CHUNK_BYTES = (1 << 20) - 64;
/** While a running process has written less than this since the last event, the reader waits a moment for more. */
const LINGER_BYTES = 256 << 10;
/** How long it waits at most: output a person watches is late by no more than this. */
const LINGER_MS = 2;

export type FollowEvent = { case: "output"; stream: StreamName; offset: number; data: Buffer } | { case: "exited"; exit: ExitStatus };

export interface FollowOptions {
  /** Ends the reading (the process goes on). */
  signal: AbortSignal;
  /** Send only what is kept now (and the exit, if it has finished), then end. */
  replayOnly?: boolean;
  maxChunkBytes?: number;
  /** How long to wait for more output before sending a small chunk of a running process; 0 sends at once. */
  lingerMs?: number;
}

/** Bytes written after `cursor`, in both streams. */
function unread(proc: ManagedProcess, cursor: Readonly<Cursor>): number {
  return Math.max(0, proc.rings.stdout.end - cursor.stdout) + Math.max(0, proc.rings.stderr.end - cursor.stderr);
}

/**
 * Waits up to `ms` while a running process has written less than LINGER_BYTES after `cursor`:
 * a fast writer then goes out in a few large messages, not one per pipe read.
 */
async function linger(proc: ManagedProcess, cursor: Readonly<Cursor>, ms: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + ms;
  while (proc.running && !proc.holding && !signal.aborted && unread(proc, cursor) < LINGER_BYTES) {
    const left = deadline - performance.now();
    if (left <= 0) return;
    const timer = AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(left))]);
    await proc.changed(timer);
  }
}

/** The next chunk after `cursor`, from whichever stream wrote first. */
function nextChunk(proc: ManagedProcess, cursor: Readonly<Cursor>, max: number): Extract<FollowEvent, { case: "output" }> | undefined {
  const out = proc.rings.stdout.seqAt(cursor.stdout);
  const err = proc.rings.stderr.seqAt(cursor.stderr);
  if (out === undefined && err === undefined) return undefined;
  const stream: StreamName = err === undefined || (out !== undefined && out < err) ? "stdout" : "stderr";
  const limit = stream === "stdout" ? err : out;
  const read = proc.rings[stream].read(cursor[stream], max, limit ?? Infinity);
  return read && { case: "output", stream, offset: read.offset, data: read.data };
}

/** Yields `proc`'s output from `from` on, then its exit; ends early (without the exit) when `o.signal` aborts or, with `replayOnly`, when nothing more is kept. */
export async function* follow(proc: ManagedProcess, from: Cursor, o: FollowOptions): AsyncGenerator<FollowEvent> {
  const reader = proc.attach(from);
  const max = o.maxChunkBytes ?? MAX_CHUNK_BYTES;
  const lingerMs = o.replayOnly ? 0 : (o.lingerMs ?? LINGER_MS);
  try {
    while (!o.signal.aborted) {
      if (lingerMs > 0 && unread(proc, reader.cursor) > 0) await linger(proc, reader.cursor, lingerMs, o.signal);
      const chunk = nextChunk(proc, reader.cursor, max);
      if (chunk) {
        // Taken once handed over: the consumer pulls the next one only after it sent this one.
        reader.advance(chunk.stream, chunk.offset + chunk.data.length);
        yield chunk;
        continue;
      }
      const exit = proc.exit;
      if (exit) {
        yield { case: "exited", exit };
        return;
      }
      if (o.replayOnly) return;
      await proc.changed(o.signal);
    }
  } finally {
    reader.detach();
  }
}
