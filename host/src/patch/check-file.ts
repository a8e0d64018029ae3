/**
 * The preflight of one file part: read what it patches (from the workspace or an earlier
 * part), check the modes and the paths it writes, apply its hunks, and say what it would
 * write or remove.
 */
import { applyHunks } from "./apply-hunks.js";
import { MODE_REGULAR, MODE_TYPE_MASK } from "./file-diff.js";
import type { FileState, PathProblem, PathStates } from "./path-states.js";
import type { FilePatch, PatchFileResult, PatchOperation } from "./types.js";
import { WorkLimitExceeded, type WorkBudget } from "./work-budget.js";

/** One file part's outcome: its result, and when it passed, what it removes and writes. */
export interface FileOutcome {
  result: PatchFileResult;
  /**
   * The path it removes: a deleted file or a rename's source, with the directories it leaves
   * empty; or the old name of a part whose ---/+++ names differ without a rename header,
   * which git removes without pruning directories.
   */
  removes: { path: string; prune: boolean } | null;
  /** The path it writes, and with what (null once a later part writes the same path). */
  writes: { path: string; state: FileState | null } | null;
}

const EXEC = 0o100;

/** The mode git would give the file, shown as git shows modes. */
function gitMode(perms: number): string {
  return (MODE_REGULAR | (perms & EXEC ? 0o755 : 0o644)).toString(8);
}

/** Permission bits after the patch's new mode: only the executable bit carries over, as in git. */
function permsAfter(perms: number, newMode: number | null): number {
  if (newMode === null) return perms & 0o7777;
  if (newMode & EXEC) return (perms & 0o7777) | ((perms & 0o444) >> 2) | EXEC;
  return perms & 0o7777 & ~0o111;
}

function operationOf(f: FilePatch, creates: boolean): PatchOperation {
  const d = f.diff;
  if (creates) return "add";
  if (d.deletes) return "delete";
  if (d.copy) return "copy";
  if (d.rename || (f.oldPath !== null && f.newPath !== null && f.oldPath !== f.newPath)) return "rename";
  if (d.hunks.length === 0 && d.oldMode !== null && d.newMode !== null && d.oldMode !== d.newMode) return "mode";
  return "modify";
}

function baseResult(f: FilePatch, creates: boolean): PatchFileResult {
  const operation = operationOf(f, creates);
  return {
    path: f.newPath ?? f.oldPath ?? "",
    oldPath: operation === "rename" || operation === "copy" ? (f.oldPath ?? "") : "",
    operation,
    status: "ok",
    hunks: f.hunks,
    addedLines: f.addedLines,
    removedLines: f.removedLines,
    message: "",
    conflictHunk: 0,
    expectedLines: [],
    actualLines: [],
  };
}

function failed(result: PatchFileResult, problem: PathProblem): FileOutcome {
  return { result: { ...result, status: "error", code: problem.code, message: problem.message }, removes: null, writes: null };
}

/** Runs one file part against the paths as the earlier parts left them, and records its effect there. */
export function checkFile(f: FilePatch, paths: PathStates, budget: WorkBudget): FileOutcome {
  const d = f.diff;
  if (f.refusal) return failed(baseResult(f, d.creates === true), f.refusal);
  const oldPath = f.oldPath;
  const newPath = f.newPath;
  let source: FileState | null = null;
  let creates = d.creates === true;
  if (!creates && oldPath !== null) {
    const found = paths.source(oldPath, d.rename || d.copy);
    if (found === "missing") {
      if (d.creates !== null) return failed(baseResult(f, false), { code: "patch_conflict", message: `'${oldPath}' does not exist` });
      creates = true;
    } else if ("code" in found) return failed(baseResult(f, false), found);
    else source = found;
  }
  const result = baseResult(f, creates);
  const renames = oldPath !== null && newPath !== null && oldPath !== newPath && !d.copy;
  if (newPath !== null) {
    const problem = paths.target(newPath, creates || d.rename || d.copy);
    if (problem) return failed(result, problem);
  }
  const notes: string[] = [];
  if (source && d.oldMode !== null) {
    if ((d.oldMode & MODE_TYPE_MASK) !== MODE_REGULAR) return failed(result, { code: "patch_conflict", message: `the patch expects a file of mode ${d.oldMode.toString(8)}, which is not a regular file` });
    if (d.newMode !== null && (d.newMode & MODE_TYPE_MASK) !== (d.oldMode & MODE_TYPE_MASK)) {
      return failed(result, { code: "patch_invalid", message: `the new mode ${d.newMode.toString(8)} is of another file type than the old mode ${d.oldMode.toString(8)}` });
    }
    if ((d.oldMode & EXEC) !== (source.mode & EXEC)) notes.push(`'${oldPath}' has mode ${gitMode(source.mode)}, the patch expected ${gitMode(d.oldMode)}`);
  }
  let outcome;
  try {
    outcome = applyHunks(source?.content ?? Buffer.alloc(0), d.hunks, budget);
  } catch (err) {
    if (!(err instanceof WorkLimitExceeded)) throw err;
    return failed(result, { code: "too_large", message: `${err.message}; split the patch or make its hunks smaller` });
  }
  if (!outcome.ok) {
    const c = outcome.conflict;
    const message = `hunk ${c.hunk + 1} of ${d.hunks.length} does not match the file (expected at line ${c.line})`;
    return {
      result: { ...result, status: "conflict", code: "patch_conflict", message, conflictHunk: c.hunk + 1, expectedLines: c.expected, actualLines: c.actual },
      removes: null,
      writes: null,
    };
  }
  if (d.deletes && outcome.content.length > 0) {
    return failed(result, { code: "patch_conflict", message: "the file has content the deletion does not remove" });
  }
  result.message = notes.join("; ");
  if (d.deletes) {
    paths.remove(oldPath!);
    return { result, removes: { path: oldPath!, prune: true }, writes: null };
  }
  const mode = source ? permsAfter(source.mode, d.newMode) : d.newMode !== null && d.newMode & EXEC ? 0o755 : 0o644;
  const state = { content: outcome.content, mode };
  paths.produce(newPath!, state);
  if (d.rename && renames) paths.remove(oldPath!);
  return { result, removes: renames ? { path: oldPath!, prune: d.rename } : null, writes: { path: newPath!, state } };
}
