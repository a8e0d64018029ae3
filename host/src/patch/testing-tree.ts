/**
 * Test and benchmark support: the patch engine run against a real directory (reading the
 * files it names, executing its write plan the way the workspace service does in the guest),
 * `git apply` run on another copy, and trees compared. Not used by the manager itself.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PyroError } from "../../../sdk/src/errors.js";
import { parsePatch, pathsToRead } from "./parse-patch.js";
import { preflightPatch, type PreflightOptions } from "./preflight.js";
import type { CurrentFile, PatchPreflight, PatchWrite } from "./types.js";

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Whether a missing path's parent chain runs into something that is not a directory. */
function underFile(full: string): boolean {
  try {
    lstatSync(full);
    return false;
  } catch (err) {
    return errCode(err) === "ENOTDIR";
  }
}

/** Reads the state of `paths` under `root`, as the workspace service reads them from the guest. */
export async function readCurrentFiles(root: string, paths: readonly string[]): Promise<Map<string, CurrentFile>> {
  const out = new Map<string, CurrentFile>();
  const lstatOrNull = (p: string) => {
    try {
      return lstatSync(p);
    } catch (err) {
      if (errCode(err) === "ENOENT" || errCode(err) === "ENOTDIR") return null;
      throw err;
    }
  };
  for (const path of paths) {
    let throughSymlink = false;
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) if (lstatOrNull(join(root, ...parts.slice(0, i)))?.isSymbolicLink()) throughSymlink = true;
    const full = join(root, path);
    const st = lstatOrNull(full);
    if (!st) out.set(path, { kind: "missing", throughSymlink, underFile: underFile(full) });
    else if (st.isFile()) out.set(path, { kind: "file", content: readFileSync(full), mode: st.mode & 0o7777, throughSymlink });
    else if (st.isSymbolicLink()) out.set(path, { kind: "symlink", throughSymlink });
    else if (st.isDirectory()) out.set(path, { kind: "directory", throughSymlink });
    else out.set(path, { kind: "other", throughSymlink });
  }
  return out;
}

/** Executes a write plan under `root`: deletions (pruning emptied directories), then atomic writes. */
export async function executeWritePlan(root: string, writes: readonly PatchWrite[]): Promise<void> {
  for (const w of writes) {
    if (w.kind !== "delete") continue;
    try {
      unlinkSync(join(root, w.path));
    } catch (err) {
      if (errCode(err) !== "ENOENT") throw err;
    }
    if (!w.removeEmptyParents) continue;
    for (let dir = dirname(w.path); dir !== "." && dir !== "/"; dir = dirname(dir)) {
      try {
        rmdirSync(join(root, dir));
      } catch {
        break;
      }
    }
  }
  let n = 0;
  for (const w of writes) {
    if (w.kind !== "write") continue;
    const full = join(root, w.path);
    mkdirSync(dirname(full), { recursive: true });
    // A directory the patch emptied may still be where the file goes.
    if (existsSync(full) && statSync(full).isDirectory()) rmdirSync(full);
    const tmp = join(dirname(full), `.pyro-patch-${process.pid}-${n++}`);
    writeFileSync(tmp, w.content);
    chmodSync(tmp, w.mode);
    renameSync(tmp, full);
  }
}

/** The engine end to end on a directory: parse, read, preflight, write. */
export async function applyPatchToDirectory(root: string, patch: string | Uint8Array, options?: PreflightOptions): Promise<{ preflight?: PatchPreflight; error?: PyroError }> {
  let parsed;
  try {
    parsed = parsePatch(patch);
  } catch (err) {
    if (err instanceof PyroError) return { error: err };
    throw err;
  }
  const current = await readCurrentFiles(root, pathsToRead(parsed));
  const preflight = preflightPatch(parsed, current, options);
  if (!preflight.ok) return { preflight, error: preflight.error };
  await executeWritePlan(root, preflight.writes);
  return { preflight };
}

/** An environment in which git reads no configuration but its defaults. */
export function cleanGitEnv(cwd: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: cwd,
    LC_ALL: "C",
    TZ: "UTC",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CEILING_DIRECTORIES: dirname(cwd),
    GIT_AUTHOR_NAME: "corpus",
    GIT_AUTHOR_EMAIL: "corpus@example.invalid",
    GIT_COMMITTER_NAME: "corpus",
    GIT_COMMITTER_EMAIL: "corpus@example.invalid",
    GIT_AUTHOR_DATE: "2000-01-01T00:00:00Z",
    GIT_COMMITTER_DATE: "2000-01-01T00:00:00Z",
  };
}

/** `git apply` (no options but -v, which only makes it say where hunks landed) in `dir`, which is not inside a repository. */
export function gitApply(dir: string, patch: Uint8Array, opts: { verbose?: boolean } = {}): { ok: boolean; stderr: string } {
  const r = spawnSync("git", ["apply", ...(opts.verbose ? ["-v"] : []), "-"], { cwd: dir, input: patch, env: cleanGitEnv(dir), maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { ok: r.status === 0, stderr: r.stderr.toString() };
}

/** A tree as git sees it: files with content and executable bit, and directories. */
export interface TreeSnapshot {
  files: Map<string, { exec: boolean; content: Buffer; ino: number }>;
  dirs: Set<string>;
}

/**
 * Snapshots `root`. Files whose inode is in `shared` (hard links to an unchanged base) are
 * not read again: their content is taken from the base snapshot.
 */
export async function snapshotTree(root: string, base?: TreeSnapshot): Promise<TreeSnapshot> {
  const snap: TreeSnapshot = { files: new Map(), dirs: new Set() };
  const baseByIno = new Map<number, Buffer>();
  if (base) for (const f of base.files.values()) baseByIno.set(f.ino, f.content);
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        snap.dirs.add(path);
        await walk(path);
      } else if (e.isSymbolicLink()) {
        snap.files.set(path, { exec: false, content: Buffer.from(`symlink to ${await readlink(join(root, path))}`), ino: -1 });
      } else {
        const st = await lstat(join(root, path));
        const content = baseByIno.get(st.ino) ?? (await readFile(join(root, path)));
        snap.files.set(path, { exec: (st.mode & 0o100) !== 0 && st.isFile(), content, ino: st.ino });
      }
    }
  };
  await walk("");
  return snap;
}

/** The differences between two snapshots, as readable lines (empty when equal). */
export function diffTrees(a: TreeSnapshot, b: TreeSnapshot, limit = 10): string[] {
  const out: string[] = [];
  for (const [path, fa] of a.files) {
    const fb = b.files.get(path);
    if (!fb) out.push(`only in first: ${path}`);
    else if (!fa.content.equals(fb.content)) out.push(`content differs: ${path}`);
    else if (fa.exec !== fb.exec) out.push(`mode differs: ${path}`);
  }
  for (const path of b.files.keys()) if (!a.files.has(path)) out.push(`only in second: ${path}`);
  for (const d of a.dirs) if (!b.dirs.has(d)) out.push(`directory only in first: ${d}`);
  for (const d of b.dirs) if (!a.dirs.has(d)) out.push(`directory only in second: ${d}`);
  return out.slice(0, limit);
}
