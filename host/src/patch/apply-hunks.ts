/**
 * Applies one file part's hunks, in patch order, to a file's bytes: each hunk is placed
 * (see hunk-fit.ts) in the text the earlier hunks left, and its old lines are replaced by
 * its new ones. The first hunk that fits nowhere stops it, with what a person needs to see.
 */
import { closestPosition, linesAt, oldLines } from "./closest-match.js";
import type { Hunk } from "./hunk.js";
import { findHunk, prepareOldSide } from "./hunk-fit.js";
import { LineTable } from "./line-table.js";
import type { WorkBudget } from "./work-budget.js";

/** A hunk that did not apply. */
export interface HunkConflict {
  /** Its index among the file part's hunks, from 0. */
  hunk: number;
  /** The 1-based line where it was expected (in the file as the earlier hunks left it). */
  line: number;
  /** Its old lines (context and removed), without newlines. */
  expected: string[];
  /** The file's lines where it came closest to matching. */
  actual: string[];
}

export type HunksOutcome = { ok: true; content: Buffer } | { ok: false; conflict: HunkConflict };

/** Applies `hunks` to `content`. Throws WorkLimitExceeded when the budget runs out. */
export function applyHunks(content: Buffer, hunks: readonly Hunk[], budget: WorkBudget): HunksOutcome {
  if (hunks.length === 0) return { ok: true, content };
  // Splitting the text into lines and joining it again cost about a unit per 8 bytes.
  budget.spend(content.length >> 3);
  const table = new LineTable(content);
  for (let k = 0; k < hunks.length; k++) {
    const hunk = hunks[k]!;
    const old = prepareOldSide(hunk.old);
    const pos = findHunk(table, hunk, old, budget);
    if (pos < 0) {
      const expected = Math.max(0, hunk.newStart - 1);
      const near = closestPosition(table, old, expected, budget);
      return { ok: false, conflict: { hunk: k, line: Math.min(expected, table.length) + 1, expected: oldLines(old), actual: linesAt(table, near, old.count) } };
    }
    // Moving line entries is cheap next to comparing lines: an eighth of a unit each.
    budget.spend(table.replace(pos, old.count, hunk.new.bytes, hunk.new.ends) >> 3);
  }
  return { ok: true, content: table.toBuffer() };
}
