/**
 * The digest of a root filesystem tree: SHA-256 over a deterministic walk (entries sorted
 * by name; for each its relative path, type and permission bits, plus the SHA-256 of a
 * file's content, a symlink's target or a device's numbers). Symlinks are never followed.
 * Owners and timestamps are left out on purpose: the owner is a host-local choice (the
 * sandbox uid) and times differ on every build, while neither changes what runs inside.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { join } from "node:path";

export interface TreeDigest {
  /** SHA-256 of the tree, lowercase hex. */
  digest: string;
  /** Bytes held by regular files, each hard-linked file counted once. */
  sizeBytes: number;
  /** Number of entries below the root (files, directories, links, …). */
  fileCount: number;
}

/** Files are read this many at a time: enough to keep the disk busy, few enough descriptors. */
const CONCURRENCY = 16;
/** Smaller files are read in one go; a stream's overhead only pays off for big ones. */
const WHOLE_READ_MAX = 1 << 20;

interface Node {
  rel: string;
  stat: Stats;
  /** Content hash, link target or device numbers, once known. */
  detail: Promise<string> | string;
}

/** Digests the tree at `rootDir` (which must be a directory). */
export async function treeDigest(rootDir: string): Promise<TreeDigest> {
  const limit = limiter(CONCURRENCY);
  const nodes: Node[] = [];
  const rootStat = await lstat(rootDir);
  if (!rootStat.isDirectory()) throw new Error(`${rootDir} is not a directory`);
  nodes.push({ rel: ".", stat: rootStat, detail: "" });
  // Walking fills `nodes` in the final order while file hashes are computed in the background.
  await walk(rootDir, "", nodes, limit);

  const hash = createHash("sha256");
  const seen = new Set<string>();
  let sizeBytes = 0;
  for (const node of nodes) {
    const detail = await node.detail;
    // NUL cannot occur in a path, so NUL-terminated fields cannot run into each other.
    hash.update(`${typeOf(node.stat)}\0${(node.stat.mode & 0o7777).toString(8)}\0${node.rel}\0${detail}\0`);
    if (node.stat.isFile()) {
      const id = `${node.stat.dev}:${node.stat.ino}`;
      if (!seen.has(id)) {
        seen.add(id);
        sizeBytes += node.stat.size;
      }
    }
  }
  return { digest: hash.digest("hex"), sizeBytes, fileCount: nodes.length - 1 };
}

async function walk(absDir: string, relDir: string, out: Node[], limit: Limiter): Promise<void> {
  // Sort by code unit, not locale, so every host orders the same way.
  const names = (await readdir(absDir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // lstat is cheap and bounded by the directory's size; only file reads go through `limit`.
  const stats = await Promise.all(names.map((name) => lstat(join(absDir, name))));
  for (const [i, name] of names.entries()) {
    const stat = stats[i]!;
    const abs = join(absDir, name);
    const rel = relDir ? `${relDir}/${name}` : name;
    let detail: Node["detail"] = "";
    if (stat.isFile()) detail = limit(() => fileHash(abs, stat.size));
    else if (stat.isSymbolicLink()) detail = readlink(abs);
    else if (stat.isCharacterDevice() || stat.isBlockDevice()) detail = String(stat.rdev);
    // Awaited later, in order; this only keeps an early failure from being "unhandled".
    if (typeof detail !== "string") detail.catch(() => {});
    out.push({ rel, stat, detail });
    // Depth-first in sorted order: a directory's children follow it, before its next sibling.
    if (stat.isDirectory()) await walk(abs, rel, out, limit);
  }
}

async function fileHash(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  if (size <= WHOLE_READ_MAX) {
    hash.update(await readFile(path));
  } else {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

function typeOf(stat: Stats): string {
  if (stat.isFile()) return "f";
  if (stat.isDirectory()) return "d";
  if (stat.isSymbolicLink()) return "l";
  if (stat.isCharacterDevice()) return "c";
  if (stat.isBlockDevice()) return "b";
  if (stat.isFIFO()) return "p";
  return "s";
}

type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** Runs at most `max` tasks at once, in the order they were asked for. */
function limiter(max: number): Limiter {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (active >= max) return;
    const run = queue.shift();
    if (run) {
      active++;
      run();
    }
  };
  return (task) =>
    new Promise((resolve, reject) => {
      queue.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}
