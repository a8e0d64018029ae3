/**
 * The patch of the patch figure: `files` source-like modules of 400 lines, each changed in four
 * places (a line changed, two added, three removed, a line changed near the end), as git writes
 * it (`git diff --no-index --no-prefix before after`), and the reverse patch that takes the tree
 * back. Both the workspace and the local `git apply` floor apply the forward patch to the same
 * tree, and the reverse one (untimed) before the next run.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface PatchFixture {
  /** The tree the patch applies to (a directory with src/). */
  before: string;
  forward: string;
  reverse: string;
  files: number;
  /** Path of the forward patch, and of the reverse one, as files (for git apply). */
  forwardFile: string;
  reverseFile: string;
}

/** Deterministic source-like text: `n` lines of a module. */
function moduleText(seed: number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(i % 9 === 0 ? `export function f${seed}_${i}(x) {` : i % 9 === 8 ? "}" : `  const v${i} = x * ${(seed * 31 + i) % 97} + ${i};`);
  return `${out.join("\n")}\n`;
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A git that reads no configuration of this host and finds no repository above `dir`. */
function git(dir: string, args: string[]) {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, GIT_CONFIG_NOSYSTEM: "1", GIT_CEILING_DIRECTORIES: dirname(dir) };
  return spawnSync("git", args, { cwd: dir, env, maxBuffer: 64 << 20, encoding: "utf8" });
}

/** Writes the trees under `dir` and makes the patches. */
export function makePatchFixture(dir: string, files = 50): PatchFixture {
  for (let f = 0; f < files; f++) {
    const path = `src/mod${String(f).padStart(3, "0")}.js`;
    const text = moduleText(f, 400);
    write(join(dir, "a", path), text);
    const lines = text.split("\n");
    lines[20] = `  // changed in file ${f}`;
    lines.splice(120, 0, "  const added = 1;", "  const more = 2;");
    lines.splice(250, 3);
    lines[380] = `  return ${f};`;
    write(join(dir, "b", path), lines.join("\n"));
  }
  const diff = (from: string, to: string) => {
    const r = git(dir, ["diff", "--no-index", "--no-prefix", from, to]);
    if (r.status !== 1) throw new Error(`git diff failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const forward = diff("a", "b");
  // Its paths start b/ and a/ where the forward one's start a/ and b/: one level either way.
  const reverse = diff("b", "a");
  const forwardFile = join(dir, "forward.patch");
  const reverseFile = join(dir, "reverse.patch");
  writeFileSync(forwardFile, forward);
  writeFileSync(reverseFile, reverse);
  return { before: join(dir, "a"), forward, reverse, files, forwardFile, reverseFile };
}

/** `git apply <patch>` in `tree`; throws when it refuses. */
export function gitApply(tree: string, patchFile: string): void {
  const r = git(tree, ["apply", patchFile]);
  if (r.status !== 0) throw new Error(`git apply ${patchFile} failed (${r.status}): ${r.stderr}`);
}
