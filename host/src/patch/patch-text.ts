/**
 * A patch as bytes split into lines. Lines end at LF and keep it; a CR before the LF is part
 * of the line. The last line may lack its LF.
 */

/** Why a patch cannot be read as a whole (becomes patch_invalid, or too_large for its limits). */
export class PatchSyntaxError extends Error {
  override readonly name = "PatchSyntaxError";
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/** The patch's bytes and where each of its lines starts. */
export class PatchText {
  readonly buf: Buffer;
  /** Start offset of each line, then one entry holding buf.length. */
  private readonly starts: Int32Array;
  readonly lineCount: number;

  constructor(buf: Buffer) {
    this.buf = buf;
    let count = 0;
    for (let at = buf.indexOf(0x0a); at >= 0; at = buf.indexOf(0x0a, at + 1)) count++;
    const unterminated = buf.length > 0 && buf[buf.length - 1] !== 0x0a ? 1 : 0;
    this.lineCount = count + unterminated;
    this.starts = new Int32Array(this.lineCount + 1);
    let line = 0;
    for (let at = buf.indexOf(0x0a); at >= 0; at = buf.indexOf(0x0a, at + 1)) this.starts[++line] = at + 1;
    this.starts[this.lineCount] = buf.length;
  }

  /** Offset where line `i` (from 0) starts. */
  start(i: number): number {
    return this.starts[i]!;
  }

  /** Offset just past line `i`, its LF included. */
  end(i: number): number {
    return this.starts[i + 1]!;
  }

  /** Offset just past line `i`'s content, its LF excluded. */
  contentEnd(i: number): number {
    const end = this.starts[i + 1]!;
    return end > this.starts[i]! && this.buf[end - 1] === 0x0a ? end - 1 : end;
  }

  /** Whether line `i` ends with an LF. */
  hasNewline(i: number): boolean {
    const end = this.starts[i + 1]!;
    return end > this.starts[i]! && this.buf[end - 1] === 0x0a;
  }

  /** Whether line `i` exists and begins with `prefix` (ASCII). */
  startsWith(i: number, prefix: string): boolean {
    if (i >= this.lineCount) return false;
    const at = this.starts[i]!;
    if (this.starts[i + 1]! - at < prefix.length) return false;
    for (let k = 0; k < prefix.length; k++) if (this.buf[at + k] !== prefix.charCodeAt(k)) return false;
    return true;
  }

  /** Line `i` without its LF, as latin1 text (one character per byte). */
  text(i: number): string {
    return this.buf.toString("latin1", this.start(i), this.contentEnd(i));
  }
}
