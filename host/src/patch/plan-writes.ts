/**
 * The write plan of a patch whose every file part passed. As git apply does, the patch's
 * removals (deleted files, renamed-away sources) all happen before its writes, and a path
 * several parts write gets the last part's result; so a removed path that some part also
 * writes is simply written.
 */
import type { FileOutcome } from "./check-file.js";
import type { FileState } from "./path-states.js";
import type { CurrentFile, PatchWrite } from "./types.js";

export interface WritePlan {
  writes: PatchWrite[];
  /** Result paths whose content, mode or existence changes. */
  filesChanged: number;
}

function sameState(before: CurrentFile | undefined, after: FileState | null): boolean {
  if (!before || before.kind === "missing") return after === null;
  if (after === null || before.kind !== "file") return false;
  return (before.mode & 0o7777) === (after.mode & 0o7777) && Buffer.compare(before.content, after.content) === 0;
}

/**
 * Parts whose final write would need a directory where another part's final write puts a
 * file (possible when a part writes a path that a later part deletes: the write still
 * happens). git apply fails on these while writing; here they fail before anything is written.
 */
export function blockedWrites(outcomes: readonly FileOutcome[]): FileOutcome[] {
  const written = new Set<string>();
  for (const o of outcomes) if (o.writes?.state) written.add(o.writes.path);
  return outcomes.filter((o) => {
    if (!o.writes?.state) return false;
    const path = o.writes.path;
    for (let at = path.indexOf("/"); at >= 0; at = path.indexOf("/", at + 1)) if (written.has(path.slice(0, at))) return true;
    return false;
  });
}

export function planWrites(outcomes: readonly FileOutcome[], current: ReadonlyMap<string, CurrentFile>): WritePlan {
  const removed = new Map<string, boolean>();
  const written = new Map<string, FileState>();
  const resultPaths = new Set<string>();
  for (const o of outcomes) {
    if (o.removes !== null) removed.set(o.removes.path, (removed.get(o.removes.path) ?? false) || o.removes.prune);
    if (o.writes?.state) written.set(o.writes.path, o.writes.state);
    resultPaths.add(o.writes?.path ?? o.removes?.path ?? o.result.path);
  }
  const writes: PatchWrite[] = [];
  for (const [path, prune] of removed) if (!written.has(path)) writes.push({ kind: "delete", path, removeEmptyParents: prune });
  for (const [path, state] of written) writes.push({ kind: "write", path, content: state.content, mode: state.mode });
  let filesChanged = 0;
  for (const path of resultPaths) {
    const after = written.get(path) ?? (removed.has(path) ? null : undefined);
    if (after !== undefined && !sameState(current.get(path), after)) filesChanged++;
  }
  return { writes, filesChanged };
}
