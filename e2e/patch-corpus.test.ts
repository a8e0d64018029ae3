/**
 * The patch engine against `git apply` on hundreds of real-world diffs (see patch-corpus.ts):
 * both must accept or both refuse each diff, and when they accept, leave byte-identical trees
 * with the same file modes and directories. Skips only when the npm registry cannot be
 * reached and the tarballs are not cached yet.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { linkSync, mkdirSync, readdirSync } from "node:fs";
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PyroError } from "../sdk/src/errors.js";
import { parsePatch, PATCH_LIMITS } from "../host/src/patch/parse-patch.js";
import { applyPatchToDirectory, gitApply } from "../host/src/patch/testing-tree.js";
import { buildCorpus, corpusCacheDir, fetchTarballs, mutatePatch, random } from "./patch-corpus.js";

let work: string;
let skipReason: string | null = null;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "pyro-patch-corpus-"));
  skipReason = await fetchTarballs(corpusCacheDir());
}, 300_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Entry {
  ino: number;
  exec: boolean;
  dir: boolean;
}

async function listTree(root: string, rel = "", out = new Map<string, Entry>()): Promise<Map<string, Entry>> {
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    const st = await lstat(join(root, path));
    out.set(path, { ino: st.ino, exec: (st.mode & 0o100) !== 0, dir: e.isDirectory() });
    if (e.isDirectory()) await listTree(root, path, out);
  }
  return out;
}

/** Differences between two trees made from the same hard-linked base: files not shared by inode are read and compared. */
async function compareTrees(a: string, b: string): Promise<string[]> {
  const [ta, tb] = [await listTree(a), await listTree(b)];
  const out: string[] = [];
  for (const [path, ea] of ta) {
    const eb = tb.get(path);
    if (!eb) out.push(`only after git apply: ${path}`);
    else if (ea.dir !== eb.dir) out.push(`type differs: ${path}`);
    else if (!ea.dir && ea.exec !== eb.exec) out.push(`mode differs: ${path}`);
    else if (!ea.dir && ea.ino !== eb.ino && !(await readFile(join(a, path))).equals(await readFile(join(b, path)))) out.push(`content differs: ${path}`);
  }
  for (const path of tb.keys()) if (!ta.has(path)) out.push(`only after the engine: ${path}`);
  return out;
}

/** A copy of `src` at `dst` made of hard links (git apply and the engine replace files, never write into them). */
function linkTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    if (e.isDirectory()) linkTree(join(src, e.name), join(dst, e.name));
    else linkSync(join(src, e.name), join(dst, e.name));
  }
}

/** A `git diff` split into its files' parts. */
function splitGitPatch(patch: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let at = 0; at < patch.length; ) {
    if (patch.subarray(at, at + 11).toString("latin1") === "diff --git ") starts.push(at);
    const nl = patch.indexOf(0x0a, at);
    at = nl < 0 ? patch.length : nl + 1;
  }
  return starts.map((at, i) => patch.subarray(at, starts[i + 1] ?? patch.length));
}

/** A small tree holding only the files `part` names, copied from `base`. */
async function partBase(part: Buffer, base: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  let names: Array<string | null> = [];
  try {
    names = parsePatch(part).files.flatMap((f) => [f.oldPath, f.newPath]);
  } catch (err) {
    if (!(err instanceof PyroError)) throw err;
  }
  for (const name of names) {
    if (name === null || name.split("/").includes("..")) continue;
    const st = await lstat(join(base, name)).catch(() => null);
    if (!st?.isFile()) continue;
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await copyFile(join(base, name), join(dir, name));
    await chmod(join(dir, name), st.mode & 0o777);
  }
}

const stats = { diffs: 0, files: 0, hunks: 0, bothApplied: 0, bothRefused: 0, tooLarge: 0, empty: 0, parts: 0, partsApplied: 0, partsRefused: 0, offsetHunks: 0 };
const kinds = new Map<string, { diffs: number; applied: number; refused: number }>();
const mismatches: string[] = [];
let n = 0;

/** Applies `patch` to copies of `base` both ways; returns whether both applied it, or records the mismatch. */
async function compareOne(label: string, patch: Buffer, base: string): Promise<"applied" | "refused" | "differ"> {
  const dir = join(work, "apply", String(n++));
  const [gitDir, engineDir] = [join(dir, "git"), join(dir, "engine")];
  linkTree(base, gitDir);
  linkTree(base, engineDir);
  const g = gitApply(gitDir, patch, { verbose: true });
  const e = await applyPatchToDirectory(engineDir, patch);
  try {
    if (g.ok !== !e.error) {
      mismatches.push(`${label}: git ${g.ok ? "applied it" : `refused it (${g.stderr.trim().split("\n")[0]})`}, the engine ${e.error ? `refused it (${e.error.message})` : "applied it"}`);
      return "differ";
    }
    if (!g.ok) return "refused";
    // git -v says where a hunk landed when it was not at the line its header named.
    stats.offsetHunks += g.stderr.split("\n").filter((l) => /^Hunk #\d+ succeeded at \d+ \(offset/.test(l)).length;
    const diff = await compareTrees(gitDir, engineDir);
    if (diff.length) {
      mismatches.push(`${label}: trees differ: ${diff.slice(0, 5).join("; ")}`);
      return "differ";
    }
    return "applied";
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

it("applies real-world diffs exactly as git apply does", async (ctx) => {
  if (skipReason) {
    console.log(`patch corpus skipped: ${skipReason}`);
    ctx.skip();
    return;
  }
  const t0 = Date.now();
  for await (const d of buildCorpus(corpusCacheDir(), work)) {
    if (d.patch.length === 0) {
      stats.empty++;
      continue;
    }
    if (d.patch.length > PATCH_LIMITS.maxPatchBytes && !d.perFile) {
      stats.tooLarge++;
      continue;
    }
    const k = kinds.get(d.kind) ?? { diffs: 0, applied: 0, refused: 0 };
    kinds.set(d.kind, k);
    const label = `${d.name} (${d.kind})`;
    if (d.perFile) {
      let parts = splitGitPatch(d.patch);
      const rnd = random(stats.parts + 1);
      // Enough of each to see every kind of file change, within the time a test may take.
      parts = parts.filter((p) => p.length <= PATCH_LIMITS.maxPatchBytes).slice(0, d.maxParts);
      for (let i = 0; i < parts.length; i++) {
        const small = join(work, "part-base");
        await rm(small, { recursive: true, force: true });
        await partBase(parts[i]!, d.base, small);
        const damaged = d.mutate ? mutatePatch(parts[i]!, rnd) : { patch: parts[i]!, how: "" };
        const r = await compareOne(`${label}, file ${i + 1}${damaged.how ? ` (${damaged.how})` : ""}`, damaged.patch, small);
        stats.parts++;
        k.diffs++;
        if (r === "applied") (stats.partsApplied++, k.applied++);
        if (r === "refused") (stats.partsRefused++, k.refused++);
      }
      continue;
    }
    stats.diffs++;
    k.diffs++;
    try {
      const parsed = parsePatch(d.patch);
      stats.files += parsed.files.length;
      stats.hunks += parsed.files.reduce((s, f) => s + f.hunks, 0);
    } catch (err) {
      if (!(err instanceof PyroError)) throw err;
    }
    const r = await compareOne(label, d.patch, d.base);
    if (r === "applied") (stats.bothApplied++, k.applied++);
    if (r === "refused") (stats.bothRefused++, k.refused++);
  }
  console.log(
    `patch corpus: ${stats.diffs} whole diffs (${stats.files} file patches, ${stats.hunks} hunks) and ${stats.parts} single-file parts compared with git apply in ${((Date.now() - t0) / 1000).toFixed(1)} s\n` +
      `  whole diffs: ${stats.bothApplied} applied by both, ${stats.bothRefused} refused by both; single-file parts: ${stats.partsApplied} applied by both, ${stats.partsRefused} refused by both\n` +
      `  ${stats.offsetHunks} hunks applied away from their stated line; ${mismatches.length} differ; not compared: ${stats.tooLarge} diffs over ${PATCH_LIMITS.maxPatchBytes} bytes, ${stats.empty} empty`,
  );
  for (const [kind, k] of kinds) console.log(`  ${kind.padEnd(44)} ${String(k.diffs).padStart(5)} compared, ${String(k.applied).padStart(5)} applied, ${String(k.refused).padStart(5)} refused`);
  expect(mismatches).toEqual([]);
  expect(stats.diffs).toBeGreaterThan(200);
}, 600_000);
