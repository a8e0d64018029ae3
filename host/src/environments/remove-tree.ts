/**
 * Removing cached trees safely. A build interrupted hard (SIGKILL, crash) can leave
 * mmdebstrap's mounts in the tree, among them a bind of the host's /sys and /dev nodes;
 * a recursive delete must never walk into those, so they are detached first.
 */
import { execFile } from "node:child_process";
import { chmod, lstat, readFile, readdir, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "../logger.js";

const execFileP = promisify(execFile);

/** Removes `path` and everything below it; nothing happens when it does not exist. */
export async function removeTree(path: string, log: Logger): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat) return; // already gone
  // A link is removed itself; only a real directory can have mounts below it.
  if (stat.isDirectory()) await detachMounts(await realpath(path), log);
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM") throw err;
    // Without root, directories the tree marks read-only (e.g. /proc at 0555) block the delete.
    await makeWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

/** Bytes held by regular files below `path` (0 when it does not exist). */
export async function treeSize(path: string): Promise<number> {
  let stat;
  try {
    stat = await lstat(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0;
  let total = 0;
  for (const name of await readdir(path)) total += await treeSize(join(path, name));
  return total;
}

/** Mount points at or below `root`, deepest first. */
export async function mountsBelow(root: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const points = text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === root || p.startsWith(root + "/"));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function detachMounts(root: string, log: Logger): Promise<void> {
  for (const point of await mountsBelow(root)) {
    log.warn("detaching a mount left in an environment tree", { path: point });
    try {
      await execFileP("umount", ["--lazy", "--", point]);
    } catch (err) {
      // Deleting through a live mount could reach the host; better to leave the tree.
      throw new Error(`cannot unmount ${point} before removing ${root}: ${(err as Error).message}`, { cause: err });
    }
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => {});
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    const stat = await lstat(p).catch(() => undefined);
    if (stat?.isDirectory()) await makeWritable(p);
  }
}
