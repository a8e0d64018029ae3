/**
 * What `pyro env prune` removes from one environment's directory, and what it keeps: copies
 * in use stay, whatever was asked. Call holding the environment's lock.
 */
import { lstat, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { CatalogEntry } from "./catalog.js";
import { isCopyName, isLeftover, isRealDir, newTrashName, readdirOrEmpty, readPointer } from "./copy-layout.js";
import { clearMark, removeUnlessUsed, type LiveUser } from "./copy-users.js";
import { treeSize } from "./remove-tree.js";

/** What prune left in place, and why. */
export interface KeptCopy {
  path: string;
  reason: string;
}

export interface PruneResult {
  removedPaths: string[];
  freedBytes: number;
  kept: KeptCopy[];
}

/** Removes the copy at `dir` unless a live sandbox uses it (see copy-users.ts); a mark a crashed remover left is cleared first. */
export async function removeCopyUnlessUsed(slugDir: string, dir: string, removeTree: (path: string) => Promise<void>) {
  await clearMark(dir).catch(() => {});
  return removeUnlessUsed(dir, join(slugDir, newTrashName()), removeTree);
}

export interface PruneDirOptions {
  slugDir: string;
  /** Its catalog entry; none for a name the catalog no longer has. */
  entry?: CatalogEntry;
  /** Also the current, sound copy. */
  all: boolean;
  /** Whether the copy at `dir` is sound (manifest and tree digest). */
  isSound(dir: string): Promise<boolean>;
  removeTree(path: string): Promise<void>;
  result: PruneResult;
}

/** Prunes one environment's directory into `o.result`. */
export async function pruneEnvironmentDir(o: PruneDirOptions): Promise<void> {
  const { slugDir, entry, result } = o;
  const drop = async (path: string) => {
    const bytes = await treeSize(path);
    await o.removeTree(path);
    result.removedPaths.push(path);
    result.freedBytes += bytes;
  };
  const dropCopy = async (dir: string) => {
    const bytes = await treeSize(dir);
    const r = await removeCopyUnlessUsed(slugDir, dir, o.removeTree);
    if (r.removed) {
      result.removedPaths.push(dir);
      result.freedBytes += bytes;
    } else {
      result.kept.push({ path: dir, reason: inUse(r.users) });
    }
  };

  const target = entry ? await readPointer(join(slugDir, entry.version)) : undefined;
  const keepCurrent = !o.all && target !== undefined && isCopyName(target) && (await o.isSound(join(slugDir, target)));
  for (const child of await readdirOrEmpty(slugDir)) {
    const path = join(slugDir, child);
    if (isLeftover(child)) {
      await drop(path); // stale: only the lock holder builds or deletes
    } else if (isCopyName(child)) {
      if (child !== target || !keepCurrent) await dropCopy(path);
    } else if (entry && child === entry.version) {
      continue; // the pointer; handled below
    } else if ((await lstat(path)).isSymbolicLink()) {
      await unlink(path); // the pointer of another recipe version
    } else if (await isRealDir(path)) {
      await dropCopy(path); // an old-layout copy of another version, or of a name no longer in the catalog
    } else {
      await drop(path); // anything else in the cache's own folders
    }
  }
  // A pointer to nothing (its copy removed here, or by a crash between the two steps) goes too.
  if (entry && target !== undefined && !(await isRealDir(join(slugDir, target)))) await unlink(join(slugDir, entry.version)).catch(() => {});
  await rmdir(slugDir).catch(() => {}); // only when empty; a build re-creates it under the same lock
}

/** Why a copy was kept, naming up to three of its users. */
export function inUse(users: LiveUser[]): string {
  const n = users.length;
  const shown = users.slice(0, 3).map((u) => u.sandbox + (u.holder ? ` (pid ${u.holder.pid})` : u.record ? " (durable sandbox, while its record exists)" : " (unreadable registration)"));
  return `in use by ${n} running sandbox${n === 1 ? "" : "es"}: ${shown.join(", ")}${n > 3 ? ", …" : ""}`;
}
