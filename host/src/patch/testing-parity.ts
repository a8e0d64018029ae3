/**
 * Test support: one patch applied by the engine and by `git apply` to two copies of the same
 * tree, with both outcomes (accepted or refused, and the resulting trees) returned for
 * comparison; and patches made by git from a pair of trees.
 */
import { spawnSync } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { applyPatchToDirectory, cleanGitEnv, diffTrees, gitApply, snapshotTree } from "./testing-tree.js";
import type { PyroError } from "../../../sdk/src/errors.js";
import type { PatchPreflight } from "./types.js";

/** A file of a test tree: its text or bytes, optionally with a mode. */
export type TreeFile = string | Buffer | { content: string | Buffer; mode: number };
export type TreeSpec = Record<string, TreeFile>;

/** Writes `spec` under `root` (which is created). */
export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [path, file] of Object.entries(spec)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    const content = typeof file === "string" || Buffer.isBuffer(file) ? file : file.content;
    await writeFile(full, content);
    await chmod(full, typeof file === "string" || Buffer.isBuffer(file) ? 0o644 : file.mode);
  }
}

/** A scratch directory, removed by `done()`. */
export async function scratch(prefix = "pyro-patch-"): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}

/** `git diff --cached <args>` from tree `from` to tree `to`, made in a throwaway repository. */
export async function gitDiffBetween(from: TreeSpec, to: TreeSpec, args: string[] = []): Promise<Buffer> {
  const s = await scratch("pyro-patch-diff-");
  try {
    const repo = join(s.dir, "repo");
    await writeTree(repo, from);
    const git = (...a: string[]) => {
      const r = spawnSync("git", a, { cwd: repo, env: cleanGitEnv(repo), maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`git ${a.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    git("init", "-q");
    git("add", "-A");
    git("commit", "-q", "--allow-empty", "-m", "from");
    for (const entry of await readdir(repo)) if (entry !== ".git") await rm(join(repo, entry), { recursive: true, force: true });
    await writeTree(repo, to);
    git("add", "-A");
    return git("diff", "--cached", ...args);
  } finally {
    await s.done();
  }
}

/** Outcome of one patch applied both ways. */
export interface ParityOutcome {
  gitOk: boolean;
  gitStderr: string;
  engineOk: boolean;
  engineError?: PyroError;
  preflight?: PatchPreflight;
  /** Differences between the two result trees (empty when equal or both refused). */
  treeDiff: string[];
}

/** Applies `patch` to two copies of `base` (a directory), with git and with the engine. */
export async function applyBothWays(base: string, patch: Uint8Array, work: string): Promise<ParityOutcome> {
  const gitDir = join(work, "git");
  const engineDir = join(work, "engine");
  await rm(gitDir, { recursive: true, force: true });
  await rm(engineDir, { recursive: true, force: true });
  await cp(base, gitDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  await cp(base, engineDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const g = gitApply(gitDir, patch);
  const e = await applyPatchToDirectory(engineDir, patch);
  const treeDiff = diffTrees(await snapshotTree(gitDir), await snapshotTree(engineDir));
  return { gitOk: g.ok, gitStderr: g.stderr, engineOk: !e.error, engineError: e.error, preflight: e.preflight, treeDiff };
}
