/**
 * Step three of `workspace patch apply`: every file part of a parsed patch checked against
 * the workspace's current files exactly as `git apply` would apply it, with one result per
 * part, and the write plan when all of them pass (all or nothing: any failure means no
 * writes).
 */
import { PyroError } from "../../../sdk/src/errors.js";
import { checkFile, type FileOutcome } from "./check-file.js";
import { PathStates } from "./path-states.js";
import { blockedWrites, planWrites } from "./plan-writes.js";
import type { CurrentFile, ParsedPatch, PatchFileResult, PatchPreflight } from "./types.js";
import { WorkBudget } from "./work-budget.js";

export interface PreflightOptions {
  /** Largest file patched, in bytes. */
  maxFileBytes?: number;
  /** Bound on the work of placing hunks (line comparisons, roughly); past it the file fails with too_large. */
  workLimit?: number;
}

export const PREFLIGHT_DEFAULTS = {
  maxFileBytes: 16 * 1024 * 1024,
  workLimit: 50_000_000,
} as const;

/**
 * The paths some part of the patch deletes or renames away (a creation may replace them),
 * and all the paths it removes (those, and the old names of parts whose names differ).
 */
function pathsRemoved(parsed: ParsedPatch): { goingAway: Set<string>; removed: Set<string> } {
  const goingAway = new Set<string>();
  const removed = new Set<string>();
  for (const f of parsed.files) {
    if (f.refusal || f.oldPath === null) continue;
    if (f.diff.deletes || f.diff.rename) goingAway.add(f.oldPath);
    if (f.diff.deletes || (!f.diff.copy && f.newPath !== null && f.newPath !== f.oldPath)) removed.add(f.oldPath);
  }
  return { goingAway, removed };
}

function summarise(failed: PatchFileResult[]): PyroError {
  const first = failed[0]!;
  const more = failed.length - 1;
  const named = first.message.includes(first.path) ? first.message : `${first.path}: ${first.message}`;
  const suffix = more > 0 ? ` (and ${more} more file${more === 1 ? "" : "s"} failed)` : "";
  return new PyroError(first.code ?? "patch_conflict", `${named}${suffix}`);
}

/**
 * Checks `parsed` against `current` (the state of every path pathsToRead named). Throws only
 * on a programming error (a path that was not read).
 */
export function preflightPatch(parsed: ParsedPatch, current: ReadonlyMap<string, CurrentFile>, options: PreflightOptions = {}): PatchPreflight {
  const maxFileBytes = options.maxFileBytes ?? PREFLIGHT_DEFAULTS.maxFileBytes;
  const budget = new WorkBudget(options.workLimit ?? PREFLIGHT_DEFAULTS.workLimit);
  const { goingAway, removed } = pathsRemoved(parsed);
  const paths = new PathStates(current, goingAway, removed, maxFileBytes);
  const outcomes: FileOutcome[] = [];
  const lastWrite = new Map<string, FileOutcome>();
  for (const f of parsed.files) {
    const outcome = checkFile(f, paths, budget);
    outcomes.push(outcome);
    if (!outcome.writes) continue;
    // Only the last result written to a path is kept: earlier ones would only hold memory.
    const earlier = lastWrite.get(outcome.writes.path);
    if (earlier?.writes) earlier.writes.state = null;
    lastWrite.set(outcome.writes.path, outcome);
  }
  for (const o of blockedWrites(outcomes)) {
    o.result = { ...o.result, status: "error", code: "patch_conflict", message: "another part of the patch writes a file where a parent directory of this one is needed" };
  }
  const files = outcomes.map((o) => o.result);
  const failed = files.filter((r) => r.status !== "ok");
  if (failed.length > 0) return { files, ok: false, writes: [], changed: false, filesChanged: 0, error: summarise(failed) };
  const plan = planWrites(outcomes, current);
  return { files, ok: true, writes: plan.writes, changed: plan.filesChanged > 0, filesChanged: plan.filesChanged };
}
