/**
 * For a hunk that matches nowhere: the place where it came closest, to show the person the
 * lines the file has there. Closest is the position where most of the hunk's old lines equal
 * the file's lines; ties go to the position the search would have tried first. The look is
 * bounded (a report is not worth much work): past the bound the best so far is taken.
 */
import { lineText } from "./display.js";
import { searchOrder, type OldSide } from "./hunk-fit.js";
import type { LineTable } from "./line-table.js";
import type { WorkBudget } from "./work-budget.js";

/** Line comparisons spent at most on finding the closest place. */
const REPORT_WORK = 2_000_000;
/** Lines shown at most on each side of a conflict, and characters per line (a report stays readable and small). */
const REPORT_LINES = 2000;
const REPORT_LINE_CHARS = 8192;

function shown(bytes: Uint8Array): string {
  const text = lineText(bytes.length > REPORT_LINE_CHARS * 4 ? bytes.subarray(0, REPORT_LINE_CHARS * 4) : bytes);
  return text.length > REPORT_LINE_CHARS ? `${text.slice(0, REPORT_LINE_CHARS)}…` : text;
}

function equalLines(table: LineTable, i: number, old: OldSide, k: number): boolean {
  const start = old.starts[k]!;
  const end = old.side.ends[k]!;
  if (table.size(i) !== end - start || table.hash(i) !== old.hashes[k]) return false;
  return table.buffer(i).compare(old.side.bytes, start, end, table.start(i), table.end(i)) === 0;
}

/** The closest position (from 0) for the hunk expected at `expected`; its work is charged to `budget`. */
export function closestPosition(table: LineTable, old: OldSide, expected: number, budget: WorkBudget): number {
  const last = Math.max(0, table.length - old.count);
  const start = Math.min(Math.max(0, expected), last);
  if (old.count === 0) return start;
  let best = start;
  let bestScore = 0;
  let work = 0;
  const cap = Math.min(REPORT_WORK, budget.left);
  for (const pos of searchOrder(start, last)) {
    if (work > cap) break;
    let score = 0;
    const n = Math.min(old.count, table.length - pos);
    for (let k = 0; k < n; k++) if (equalLines(table, pos + k, old, k)) score++;
    work += n + 1;
    if (score > bestScore) {
      best = pos;
      bestScore = score;
      if (score === old.count) break;
    }
  }
  budget.charge(work);
  return best;
}

/** The file's lines at `pos`, as many as the hunk's old side has (fewer at the end of the file; long reports are cut). */
export function linesAt(table: LineTable, pos: number, count: number): string[] {
  const out: string[] = [];
  for (let i = pos; i < Math.min(table.length, pos + count, pos + REPORT_LINES); i++) out.push(shown(table.bytes(i)));
  return out;
}

/** The hunk's old lines as text (long reports are cut). */
export function oldLines(old: OldSide): string[] {
  const out: string[] = [];
  for (let k = 0; k < Math.min(old.count, REPORT_LINES); k++) out.push(shown(old.side.bytes.subarray(old.starts[k]!, old.side.ends[k]!)));
  return out;
}
