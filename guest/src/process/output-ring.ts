/**
 * The recent output of one stream of a process, bounded: bytes are addressed by their
 * offset in the stream (0 is the first byte the process ever wrote), and once more than
 * `capacity` bytes are kept the oldest are dropped. Chunks are kept as they came from the
 * pipe (no copy on the way in) and carry the arrival sequence number the process gave them,
 * so a reader following two streams can keep the order in which they were written.
 */

interface Piece {
  /** Offset of data[0] in the stream. */
  offset: number;
  /** Arrival order across the process's streams. */
  seq: number;
  data: Buffer;
}

/** What a read returns: bytes from `offset` on, all of them from chunks that arrived before the limit. */
export interface RingRead {
  offset: number;
  data: Buffer;
}

export class OutputRing {
  /** Pieces from `#head` on are live; the array is compacted now and then. */
  #pieces: Piece[] = [];
  #head = 0;
  #oldest = 0;
  #end = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError("an output ring needs a positive capacity");
  }

  /** Offset of the oldest byte still kept. */
  get oldest(): number {
    return this.#oldest;
  }

  /** Offset one past the newest byte: how many bytes the stream has had in all. */
  get end(): number {
    return this.#end;
  }

  /** Bytes kept now. */
  get size(): number {
    return this.#end - this.#oldest;
  }

  /** Appends a chunk that arrived as number `seq`; drops the oldest bytes past the capacity. */
  push(data: Buffer, seq: number): void {
    if (data.length === 0) return;
    this.#pieces.push({ offset: this.#end, seq, data });
    this.#end += data.length;
    this.#trim();
  }

  /** The arrival number of the chunk holding byte `from` (or the oldest kept one, when `from` is gone); undefined when there is nothing at or after `from`. */
  seqAt(from: number): number | undefined {
    const i = this.#indexOf(Math.max(from, this.#oldest));
    return i === undefined ? undefined : this.#pieces[i]!.seq;
  }

  /**
   * Up to `max` bytes from `from` (or from the oldest kept byte, when `from` is older), taken
   * only from chunks that arrived before `seqLimit`. One chunk comes back as a view of itself;
   * several are copied into one buffer. Undefined when there is nothing to read.
   */
  read(from: number, max: number, seqLimit = Infinity): RingRead | undefined {
    const start = Math.max(from, this.#oldest);
    let i = this.#indexOf(start);
    if (i === undefined || max <= 0) return undefined;
    const parts: Buffer[] = [];
    let taken = 0;
    for (; i < this.#pieces.length && taken < max; i++) {
      const p = this.#pieces[i]!;
      if (p.seq >= seqLimit) break;
      const skip = Math.max(0, start - p.offset);
      const part = p.data.subarray(skip, skip + (max - taken));
      parts.push(part);
      taken += part.length;
    }
    if (taken === 0) return undefined;
    return { offset: start, data: parts.length === 1 ? parts[0]! : Buffer.concat(parts, taken) };
  }

  /** Index of the piece holding byte `offset`, or undefined when it is not kept (yet). */
  #indexOf(offset: number): number | undefined {
    if (offset < this.#oldest || offset >= this.#end) return undefined;
    // Binary search: a long-lived process may keep thousands of small chunks.
    let lo = this.#head;
    let hi = this.#pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#pieces[mid]!.offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #trim(): void {
    while (this.#end - this.#oldest > this.capacity) {
      const p = this.#pieces[this.#head]!;
      const excess = this.#end - this.#oldest - this.capacity;
      const pieceEnd = p.offset + p.data.length;
      if (pieceEnd - this.#oldest <= excess) {
        this.#oldest = pieceEnd;
        this.#pieces[this.#head] = undefined as unknown as Piece;
        this.#head++;
      } else {
        // Keep the tail of this piece; a view, so the memory is freed with the piece.
        this.#oldest += excess;
      }
    }
    if (this.#head > 64 && this.#head * 2 > this.#pieces.length) {
      this.#pieces = this.#pieces.slice(this.#head);
      this.#head = 0;
    }
  }
}
