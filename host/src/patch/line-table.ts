/**
 * A file's text as a sequence of lines while hunks are applied to it. Lines are references
 * into source buffers (the file's bytes, and each applied hunk's new side), so replacing a
 * hunk's lines copies no text. The sequence is a gap buffer: hunks usually come in file
 * order, and replacing lines near the previous edit then moves few entries. Each line
 * carries a hash of its bytes (computed when first needed) and whether a hunk wrote it.
 */

const HASHED = 1;
const WRITTEN = 2;

/** A 32-bit FNV-1a hash of `buf[start, end)`. */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h | 0;
}

export class LineTable {
  private readonly sources: Buffer[] = [];
  private src: Int32Array;
  private starts: Int32Array;
  private ends: Int32Array;
  private hashes: Int32Array;
  private flags: Uint8Array;
  /** Logical number of lines. */
  private count = 0;
  /** The gap occupies physical slots [gapStart, gapEnd). */
  private gapStart = 0;
  private gapEnd: number;

  /** Splits `content` into lines (each with its LF; the last may lack one). */
  constructor(content: Buffer) {
    this.sources.push(content);
    let lines = 0;
    for (let at = content.indexOf(0x0a); at >= 0; at = content.indexOf(0x0a, at + 1)) lines++;
    if (content.length > 0 && content[content.length - 1] !== 0x0a) lines++;
    const capacity = lines + 16;
    this.src = new Int32Array(capacity);
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
    let from = 0;
    for (let i = 0; i < lines; i++) {
      const nl = content.indexOf(0x0a, from);
      const end = nl < 0 ? content.length : nl + 1;
      this.starts[i] = from;
      this.ends[i] = end;
      from = end;
    }
    this.count = lines;
    this.gapStart = lines;
    this.gapEnd = capacity;
  }

  get length(): number {
    return this.count;
  }

  private phys(i: number): number {
    return i < this.gapStart ? i : i + (this.gapEnd - this.gapStart);
  }

  /** The buffer holding line `i`, and the line's bounds in it. */
  buffer(i: number): Buffer {
    return this.sources[this.src[this.phys(i)]!]!;
  }

  start(i: number): number {
    return this.starts[this.phys(i)]!;
  }

  end(i: number): number {
    return this.ends[this.phys(i)]!;
  }

  size(i: number): number {
    const p = this.phys(i);
    return this.ends[p]! - this.starts[p]!;
  }

  hash(i: number): number {
    const p = this.phys(i);
    if (!(this.flags[p]! & HASHED)) {
      this.hashes[p] = hashBytes(this.sources[this.src[p]!]!, this.starts[p]!, this.ends[p]!);
      this.flags[p]! |= HASHED;
    }
    return this.hashes[p]!;
  }

  /**
   * How many lines from `pos` on equal, byte for byte, the given lines (line k is
   * `bytes[starts[k], ends[k])` with hash `hashes[k]`), stopping at the first that does not
   * or that a hunk wrote. This is the hot loop of placing hunks, hence written out flat.
   */
  equalRun(pos: number, count: number, bytes: Buffer, starts: Int32Array, ends: Int32Array, hashes: Int32Array): number {
    const gap = this.gapEnd - this.gapStart;
    for (let k = 0; k < count; k++) {
      const i = pos + k;
      const p = i < this.gapStart ? i : i + gap;
      if (this.flags[p]! & WRITTEN) return k;
      const from = this.starts[p]!;
      const to = this.ends[p]!;
      const oStart = starts[k]!;
      const length = ends[k]! - oStart;
      if (to - from !== length) return k;
      if (!(this.flags[p]! & HASHED)) {
        this.hashes[p] = hashBytes(this.sources[this.src[p]!]!, from, to);
        this.flags[p]! |= HASHED;
      }
      if (this.hashes[p] !== hashes[k]) return k;
      const source = this.sources[this.src[p]!]!;
      if (length <= 32) {
        for (let b = 0; b < length; b++) if (source[from + b] !== bytes[oStart + b]) return k;
      } else if (source.compare(bytes, oStart, oStart + length, from, to) !== 0) return k;
    }
    return count;
  }

  /** Whether an applied hunk wrote line `i` (later hunks may not match it). */
  written(i: number): boolean {
    return (this.flags[this.phys(i)]! & WRITTEN) !== 0;
  }

  /** The bytes of line `i` (a view, no copy). */
  bytes(i: number): Buffer {
    const p = this.phys(i);
    return this.sources[this.src[p]!]!.subarray(this.starts[p]!, this.ends[p]!);
  }

  /**
   * Replaces lines [pos, pos + remove) by the lines of `bytes` ending at `lineEnds`, marked
   * as written. Returns how many entries were moved (for the caller's work budget).
   */
  replace(pos: number, remove: number, bytes: Buffer, lineEnds: Int32Array): number {
    const moved = this.moveGap(pos + remove);
    this.gapStart -= remove;
    this.count -= remove;
    const add = lineEnds.length;
    if (this.gapEnd - this.gapStart < add) this.grow(add);
    const source = this.sources.length;
    this.sources.push(bytes);
    let from = 0;
    for (let k = 0; k < add; k++) {
      const p = this.gapStart++;
      this.src[p] = source;
      this.starts[p] = from;
      this.ends[p] = lineEnds[k]!;
      this.flags[p] = WRITTEN;
      from = lineEnds[k]!;
    }
    this.count += add;
    return moved + add;
  }

  /** Moves the gap so that it starts at logical index `at`; returns the entries moved. */
  private moveGap(at: number): number {
    const gap = this.gapEnd - this.gapStart;
    if (at < this.gapStart) {
      const n = this.gapStart - at;
      this.copy(at + gap, at, this.gapStart);
      this.gapStart = at;
      this.gapEnd = at + gap;
      return n;
    }
    if (at > this.gapStart) {
      const n = at - this.gapStart;
      this.copy(this.gapStart, this.gapEnd, this.gapEnd + n);
      this.gapStart += n;
      this.gapEnd += n;
      return n;
    }
    return 0;
  }

  private copy(target: number, from: number, to: number): void {
    for (const a of [this.src, this.starts, this.ends, this.hashes]) a.copyWithin(target, from, to);
    this.flags.copyWithin(target, from, to);
  }

  private grow(need: number): void {
    const capacity = this.src.length;
    const bigger = Math.max(capacity * 2, capacity + need + 16);
    const tail = capacity - this.gapEnd;
    const widen = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(bigger);
      b.set(a.subarray(0, this.gapStart), 0);
      b.set(a.subarray(this.gapEnd), bigger - tail);
      return b;
    };
    this.src = widen(this.src, (n) => new Int32Array(n));
    this.starts = widen(this.starts, (n) => new Int32Array(n));
    this.ends = widen(this.ends, (n) => new Int32Array(n));
    this.hashes = widen(this.hashes, (n) => new Int32Array(n));
    this.flags = widen(this.flags, (n) => new Uint8Array(n));
    this.gapEnd = bigger - tail;
  }

  /** The text as one buffer. */
  toBuffer(): Buffer {
    let total = 0;
    for (let i = 0; i < this.count; i++) total += this.size(i);
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < this.count; ) {
      // Copy runs of lines that lie back to back in the same source at once.
      const p = this.phys(i);
      const source = this.src[p]!;
      const from = this.starts[p]!;
      let to = this.ends[p]!;
      let j = i + 1;
      for (; j < this.count; j++) {
        const q = this.phys(j);
        if (this.src[q] !== source || this.starts[q] !== to) break;
        to = this.ends[q]!;
      }
      at += this.sources[source]!.copy(out, at, from, to);
      i = j;
    }
    return out;
  }
}
