/**
 * One hunk of a unified diff: its header `@@ -oldStart,oldCount +newStart,newCount @@`
 * (a count of 1 may be left out) and the lines that follow, read exactly as many as the
 * counts say. Each side (old: context and removed lines; new: context and added lines) is
 * kept as one buffer with its line ends.
 */
import { PatchSyntaxError, type PatchText } from "./patch-text.js";

/** One side of a hunk: its lines' bytes back to back, and where each line ends. */
export interface HunkSide {
  bytes: Buffer;
  /** End offset (exclusive) of each line in `bytes`. */
  ends: Int32Array;
}

export interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  /** 1-based line of the patch where its header is. */
  line: number;
  /** Context and removed lines, as the file must hold them. */
  old: HunkSide;
  /** Context and added lines, as the file will hold them. */
  new: HunkSide;
  /** Context lines after the last change. */
  trailingContext: number;
  added: number;
  removed: number;
}

const HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** The numbers of a hunk header line, or null when the line is not one. */
export function parseHunkHeader(text: string): { oldStart: number; oldCount: number; newStart: number; newCount: number } | null {
  const m = HEADER.exec(text);
  if (!m) return null;
  const count = (s: string | undefined) => (s === undefined ? 1 : Number(s));
  return { oldStart: Number(m[1]), oldCount: count(m[2]), newStart: Number(m[3]), newCount: count(m[4]) };
}

const CONTEXT = 0;
const REMOVED = 1;
const ADDED = 2;

/**
 * A line of the form `\ No newline at end of file` (the text after "\ " is the diff tool's,
 * in any language). Within a hunk it needs at least 12 bytes with its LF; right after the
 * hunk's last line it is taken only when more than 12 bytes of the patch remain from it.
 */
function isNoNewlineMarker(text: PatchText, i: number): boolean {
  return text.startsWith(i, "\\ ");
}

/**
 * Whether line `i` begins a hunk: it starts with "@@ -", and is not those four bytes alone
 * at the very end of the patch (git apply ignores such a cut-off line).
 */
export function isHunkStart(text: PatchText, i: number): boolean {
  return text.startsWith(i, "@@ -") && text.buf.length - text.start(i) > 4;
}

/**
 * Reads the hunk whose header is line `i`. Returns it and the index of the line after it.
 * Throws PatchSyntaxError when the lines do not add up to the header's counts.
 */
export function readHunk(text: PatchText, i: number): { hunk: Hunk; next: number } {
  const header = parseHunkHeader(text.text(i));
  const line = i + 1;
  const corrupt = (why: string) => new PatchSyntaxError(`corrupt patch at line ${line}: ${why}`);
  if (!header) throw corrupt("the hunk header is not of the form @@ -a,b +c,d @@");
  let oldLeft = header.oldCount;
  let newLeft = header.newCount;
  const kinds: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let j = i + 1;
  for (; oldLeft > 0 || newLeft > 0; j++) {
    if (j >= text.lineCount) throw corrupt(`the patch ends before the hunk's ${header.oldCount} old and ${header.newCount} new lines`);
    const start = text.start(j);
    const end = text.end(j);
    if (!text.hasNewline(j)) throw corrupt(`line ${j + 1} is cut off (it has no newline)`);
    const first = text.buf[start];
    if (first === 0x5c) {
      if (end - start < 12 || !isNoNewlineMarker(text, j)) throw corrupt(`line ${j + 1} is not a context, removed or added line`);
      const last = ends.length - 1;
      if (last >= 0 && text.buf[ends[last]! - 1] === 0x0a) ends[last]!--;
      continue;
    }
    let kind: number;
    let from = start + 1;
    if (first === 0x20) kind = CONTEXT;
    else if (first === 0x0a) {
      // An empty line stands for an empty context line (some tools strip the space).
      kind = CONTEXT;
      from = start;
    } else if (first === 0x2d) kind = REMOVED;
    else if (first === 0x2b) kind = ADDED;
    else throw corrupt(`line ${j + 1} is not a context, removed or added line`);
    if (kind !== ADDED && oldLeft-- <= 0) throw corrupt(`it has more old lines than its header counts (${header.oldCount})`);
    if (kind !== REMOVED && newLeft-- <= 0) throw corrupt(`it has more new lines than its header counts (${header.newCount})`);
    kinds.push(kind);
    starts.push(from);
    ends.push(end);
  }
  // A marker right after the last line says that line has no newline.
  if (isNoNewlineMarker(text, j) && text.buf.length - text.start(j) > 12) {
    const last = ends.length - 1;
    if (last >= 0 && text.buf[ends[last]! - 1] === 0x0a) ends[last]!--;
    j++;
  }
  let added = 0;
  let removed = 0;
  let trailingContext = 0;
  for (const kind of kinds) {
    if (kind === ADDED) added++;
    if (kind === REMOVED) removed++;
    trailingContext = kind === CONTEXT ? trailingContext + 1 : 0;
  }
  if (added === 0 && removed === 0) throw corrupt("the hunk changes nothing");
  const side = (skip: number): HunkSide => {
    let size = 0;
    let count = 0;
    for (let k = 0; k < kinds.length; k++) {
      if (kinds[k] === skip) continue;
      size += ends[k]! - starts[k]!;
      count++;
    }
    const bytes = Buffer.allocUnsafe(size);
    const lineEnds = new Int32Array(count);
    let at = 0;
    let n = 0;
    for (let k = 0; k < kinds.length; k++) {
      if (kinds[k] === skip) continue;
      at += text.buf.copy(bytes, at, starts[k]!, ends[k]!);
      lineEnds[n++] = at;
    }
    return { bytes, ends: lineEnds };
  };
  const hunk: Hunk = { ...header, line, old: side(ADDED), new: side(REMOVED), trailingContext, added, removed };
  return { hunk, next: j };
}
