/**
 * Merges a child's stdout and stderr into one ordered queue of chunks, with backpressure:
 * when more than `highWaterBytes` wait unread, both pipes are paused (the child then blocks
 * on write), and they resume once the reader has drained below half of it. The queue never
 * buffers more than the limit plus one pipe read per stream.
 */
import type { Readable } from "node:stream";

export type StreamName = "stdout" | "stderr";
export interface Chunk {
  stream: StreamName;
  data: Buffer;
}

export class OutputQueue {
  private readonly chunks: Chunk[] = [];
  private bytes = 0;
  private paused = false;
  private open = 0;
  private wake: (() => void) | undefined;
  private readonly sources: Readable[] = [];
  private lastDataAt = 0;

  constructor(private readonly highWaterBytes = 1 << 20) {}

  /** Adds a source; its chunks are tagged with `stream`. */
  add(stream: StreamName, source: Readable): void {
    this.open++;
    this.sources.push(source);
    source.on("data", (data: Buffer) => {
      this.lastDataAt = performance.now();
      this.chunks.push({ stream, data });
      this.bytes += data.length;
      if (!this.paused && this.bytes > this.highWaterBytes) {
        this.paused = true;
        for (const s of this.sources) s.pause();
      }
      this.notify();
    });
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      source.removeAllListeners("data");
      this.open--;
      this.notify();
    };
    source.once("end", done);
    source.once("error", done);
    source.once("close", done);
  }

  /**
   * Stops reading every source once they have gone quiet: nothing read for `quietMs`, and
   * nothing held back by backpressure. For after the command has exited, when a background
   * grandchild may keep a pipe open forever; output still coming, or waiting for a slow
   * reader, is never cut off.
   */
  detachWhenQuiet(quietMs: number): void {
    const check = () => {
      if (this.open === 0) return;
      if (!this.paused && this.chunks.length === 0 && performance.now() - this.lastDataAt >= quietMs) {
        for (const s of this.sources) s.destroy();
        return;
      }
      setTimeout(check, quietMs).unref();
    };
    setTimeout(check, quietMs).unref();
  }

  /** True while bytes are buffered above the limit and the sources are paused. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Yields chunks in arrival order until every source has ended. */
  async *drain(): AsyncGenerator<Chunk> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.bytes -= chunk.data.length;
        if (this.paused && this.bytes <= this.highWaterBytes / 2) {
          this.paused = false;
          for (const s of this.sources) s.resume();
        }
        yield chunk;
        continue;
      }
      if (this.open === 0) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
