/** Keeps the first `limit` bytes of a stream of chunks and decodes them once, at the end. */

/** How much of each output stream a RunResult keeps (the rest streams through callbacks only). */
export const OUTPUT_LIMIT_BYTES = 1 << 20;

export class CappedOutput {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  /** True once a byte had to be dropped. */
  truncated = false;

  constructor(private readonly limit = OUTPUT_LIMIT_BYTES) {}

  push(data: Uint8Array): void {
    const room = this.limit - this.size;
    if (data.length <= room) {
      this.chunks.push(data);
      this.size += data.length;
      return;
    }
    if (room > 0) this.chunks.push(data.subarray(0, room));
    this.size = this.limit;
    this.truncated = true;
  }

  /**
   * UTF-8 text of what was kept. Decoding happens here, not per chunk, because chunks are
   * not aligned to characters; when truncated (here, or before the bytes arrived: `cut`), a
   * character cut at the limit is dropped rather than shown as U+FFFD.
   */
  text(cut = this.truncated): string {
    const joined = Buffer.concat(this.chunks, this.size);
    return new TextDecoder("utf-8").decode(joined, { stream: cut });
  }
}
