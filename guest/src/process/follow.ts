/**
 * Reading a process from a cursor: what its rings hold from there on, then live output as
 * it comes, then its exit. Output of the two streams comes in the order it was written (by
 * pipe read); consecutive reads of one stream go out as one chunk of up to `maxChunkBytes`,
 * so a fast writer costs a message per megabyte, not per 64 KiB pipe read.
 */
import type { Cursor, ExitStatus, ManagedProcess, StreamName } from "./managed-process.js";

/** The largest chunk of output one event carries (the host refuses larger ones). */
export const MAX_CHUNK_BYTES = 1 << 20;

export type FollowEvent = { case: "output"; stream: StreamName; offset: number; data: Buffer } | { case: "exited"; exit: ExitStatus };

export interface FollowOptions {
  /** Ends the reading (the process goes on). */
  signal: AbortSignal;
  /** Send only what is kept now (and the exit, if it has finished), then end. */
  replayOnly?: boolean;
  maxChunkBytes?: number;
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
  try {
    while (!o.signal.aborted) {
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
