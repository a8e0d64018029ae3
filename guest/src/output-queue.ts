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

  constructor(private readonly highWaterBytes = 1 << 20) {}

  /** Adds a source; its chunks are tagged with `stream`. */
  add(stream: StreamName, source: Readable): void {
    this.open++;
    this.sources.push(source);
    source.on("data", (data: Buffer) => {
      this.chunks.push({ stream, data });
      this.bytes += data.length;
      if (!this.paused && this.bytes > this.highWaterBytes) {
        this.paused = true;
        for (const s of this.sources) s.pause();
      }
      this.notify();
    });
    const done = () => {
      source.removeAllListeners("data");
      this.open--;
      this.notify();
    };
    source.once("end", done);
    source.once("error", done);
  }

  /** Stops reading every source now (e.g. a grandchild keeps a pipe open after the command exited). */
  detach(): void {
    for (const s of this.sources) {
      if (!s.readableEnded) {
        s.destroy();
        s.emit("end");
      }
    }
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
