/**
 * Where a hunk's old side matches the file, by git apply's rules (observed, not guessed):
 * - Lines compare byte for byte (a CR is content): no fuzz and no whitespace tolerance.
 *   One leniency: an old-side line without its newline (`\ No newline at end of file`) may
 *   match a file line that continues with whitespace only (its newline, a CR, blanks),
 *   unless the hunk must end at the end of the file. Precisely: each old line must equal its
 *   file line once whitespace (space, tab, CR, LF) is ignored, and the old side's bytes must
 *   be a prefix of the matched file lines' bytes (equal to them when anchored at the end).
 * - A hunk whose old side starts at line 0 or 1 must match at the start of the file; one
 *   without context after its last change must match at the end.
 * - Lines an earlier hunk of the same file part wrote cannot be matched again.
 * - The search starts at the hunk's new-side start (less one), in the file as the earlier
 *   hunks left it, and tries one line after, one before, two after, two before, and so on.
 */
import type { Hunk, HunkSide } from "./hunk.js";
import { hashBytes, type LineTable } from "./line-table.js";
import type { WorkBudget } from "./work-budget.js";

/** The old side of a hunk prepared for matching. */
export interface OldSide {
  side: HunkSide;
  count: number;
  starts: Int32Array;
  hashes: Int32Array;
  /** Every line but perhaps the last ends with a newline (the usual case, matched line by line). */
  aligned: boolean;
  /** The last line lacks its newline. */
  openEnd: boolean;
}

export function prepareOldSide(side: HunkSide): OldSide {
  const count = side.ends.length;
  const starts = new Int32Array(count);
  const hashes = new Int32Array(count);
  let aligned = true;
  for (let k = 0; k < count; k++) {
    const start = k === 0 ? 0 : side.ends[k - 1]!;
    const end = side.ends[k]!;
    starts[k] = start;
    hashes[k] = hashBytes(side.bytes, start, end);
    if (k < count - 1 && (end === start || side.bytes[end - 1] !== 0x0a)) aligned = false;
  }
  const last = count > 0 ? side.ends[count - 1]! : 0;
  const openEnd = count > 0 && (last === starts[count - 1] || side.bytes[last - 1] !== 0x0a);
  return { side, count, starts, hashes, aligned, openEnd };
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
}

/** Equal once whitespace is ignored. */
function equalIgnoringSpace(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  let i = aStart;
  let j = bStart;
  for (;;) {
    while (i < aEnd && isSpace(a[i]!)) i++;
    while (j < bEnd && isSpace(b[j]!)) j++;
    if (i >= aEnd || j >= bEnd) return i >= aEnd && j >= bEnd;
    if (a[i++] !== b[j++]) return false;
  }
}

/** The old line is a prefix of the file line, and the rest of the file line is whitespace. */
function sameUpToSpace(table: LineTable, i: number, old: OldSide, k: number, budget: WorkBudget): boolean {
  const start = old.starts[k]!;
  const length = old.side.ends[k]! - start;
  const size = table.size(i);
  if (size < length) return false;
  const buf = table.buffer(i);
  const at = table.start(i);
  budget.spend(1 + (size >> 6));
  if (buf.compare(old.side.bytes, start, start + length, at, at + length) !== 0) return false;
  for (let b = at + length; b < at + size; b++) if (!isSpace(buf[b]!)) return false;
  return true;
}

/** The general rule, for old sides with lines that lack their newline before the last. */
function matchesLoosely(table: LineTable, pos: number, old: OldSide, atEnd: boolean, budget: WorkBudget): boolean {
  const bytes = old.side.bytes;
  for (let k = 0; k < old.count; k++) {
    const i = pos + k;
    if (table.written(i)) return false;
    budget.spend(1 + (table.size(i) >> 6));
    if (!equalIgnoringSpace(bytes, old.starts[k]!, old.side.ends[k]!, table.buffer(i), table.start(i), table.end(i))) return false;
  }
  // The old side's bytes against the matched lines' bytes, in order: a prefix of them, or
  // all of them when anchored at the end.
  let at = 0;
  for (let k = 0; k < old.count; k++) {
    const i = pos + k;
    const size = table.size(i);
    const take = Math.min(size, bytes.length - at);
    if (table.buffer(i).compare(bytes, at, at + take, table.start(i), table.start(i) + take) !== 0) return false;
    at += take;
    if (take < size) return !atEnd && at === bytes.length;
  }
  return at === bytes.length;
}

/** Whether the old side matches the file at line `pos` (from 0). */
export function matchesAt(table: LineTable, pos: number, old: OldSide, atEnd: boolean, budget: WorkBudget): boolean {
  if (!old.aligned) return matchesLoosely(table, pos, old, atEnd, budget);
  // Line by line; only a last line without newline may be matched loosely.
  const loose = old.openEnd && !atEnd;
  const exact = loose ? old.count - 1 : old.count;
  const run = table.equalRun(pos, exact, old.side.bytes, old.starts, old.side.ends, old.hashes);
  budget.spend(run + 1);
  if (run < exact) return false;
  if (!loose) return true;
  const last = pos + exact;
  return !table.written(last) && sameUpToSpace(table, last, old, exact, budget);
}

/** The rules that pin a hunk to the start or the end of the file. */
export function anchors(hunk: Hunk): { atStart: boolean; atEnd: boolean } {
  return { atStart: hunk.oldStart <= 1, atEnd: hunk.trailingContext === 0 };
}

/**
 * Yields candidate positions in search order: from `start`, one after, one before, two
 * after, two before, … within [0, last].
 */
export function* searchOrder(start: number, last: number): Generator<number> {
  if (last < 0) return;
  // Far beyond the end, every step "after" is out of range: begin where "before" reaches it.
  let d = start > last ? start - last : 0;
  for (; ; d++) {
    const after = start + d;
    const before = start - d;
    if (after > last && before < 0) return;
    if (after <= last) yield after;
    if (d > 0 && before >= 0 && before <= last) yield before;
  }
}

/** Finds where the hunk applies; -1 when nowhere. */
export function findHunk(table: LineTable, hunk: Hunk, old: OldSide, budget: WorkBudget): number {
  const last = table.length - old.count;
  if (last < 0) return -1;
  const { atStart, atEnd } = anchors(hunk);
  const start = Math.max(0, hunk.newStart - 1);
  if (atStart || atEnd) {
    const only = atStart ? 0 : last;
    if (atStart && atEnd && last !== 0) return -1;
    return matchesAt(table, only, old, atEnd, budget) ? only : -1;
  }
  for (const pos of searchOrder(start, last)) {
    budget.spend(1);
    if (matchesAt(table, pos, old, false, budget)) return pos;
  }
  return -1;
}
