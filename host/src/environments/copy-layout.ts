/**
 * How copies of one environment are laid out in `<cacheDir>/environments/<slug>/`:
 *   `.copy-<version>-<id>/`  an installed copy (`manifest.json`, `rootfs/`, `users/`), never
 *                            changed once published;
 *   `<version>`              a symlink naming the current copy, replaced in one rename;
 *   `.partial-*`, `.trash-*`, `.pointer-*`
 *                            a build under way, a copy being deleted, a pointer being
 *                            replaced — or what a crash left of them.
 */
import { randomBytes } from "node:crypto";
import { lstat, readdir, readlink, rename, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import { syncDir } from "./manifest.js";

export const COPY_PREFIX = ".copy-";
const PARTIAL_PREFIX = ".partial-";
const TRASH_PREFIX = ".trash-";
const POINTER_TMP_PREFIX = ".pointer-";

const newId = () => randomBytes(6).toString("hex");

/** A fresh name for a copy of recipe `version`. */
export const newCopyName = (version: string) => `${COPY_PREFIX}${version}-${newId()}`;
/** A fresh name for a build of recipe `version` under way. */
export const newPartialName = (version: string) => `${PARTIAL_PREFIX}${version}-${newId()}`;
/** A fresh name to move a copy to while it is deleted. */
export const newTrashName = () => `${TRASH_PREFIX}${newId()}`;

/** Whether `name` is a copy of recipe `version` (as a pointer may name it: no path, just a name). */
export function isCopyName(name: string, version?: string): boolean {
  return name.startsWith(version === undefined ? COPY_PREFIX : `${COPY_PREFIX}${version}-`) && !name.includes("/");
}

/** Whether `name` is what an unfinished build, removal or pointer change leaves: stale once its environment's lock is ours. */
export function isLeftover(name: string): boolean {
  return [PARTIAL_PREFIX, TRASH_PREFIX, POINTER_TMP_PREFIX].some((p) => name.startsWith(p));
}

/** What the pointer at `path` names; undefined when there is none (or it is not a link). */
export async function readPointer(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EINVAL") return undefined; // EINVAL: not a link (a copy of the old layout)
    throw err;
  }
}

/** Points `<slugDir>/<version>` at `copyName` in one rename: readers see the old copy or the new one. */
export async function switchPointer(slugDir: string, version: string, copyName: string): Promise<void> {
  const tmp = join(slugDir, `${POINTER_TMP_PREFIX}${newId()}`);
  await symlink(copyName, tmp);
  try {
    await rename(tmp, join(slugDir, version));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(slugDir);
}

/** True for a directory itself (a link to one is not). */
export async function isRealDir(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The names in `dir`; none when it does not exist. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return [];
    throw err;
  }
}
