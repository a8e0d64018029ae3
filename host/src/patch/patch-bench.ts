/**
 * A benchmark for `npm run bench` (e2e/bench.ts can call benchPatchEngine()): a 50-file patch
 * applied by the engine and by `git apply` to the same tree. It prints medians and p95s and
 * returns them; it asserts nothing (timings are not tests). Needs git; no network.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePatch, pathsToRead } from "./parse-patch.js";
import { preflightPatch } from "./preflight.js";
import { applyPatchToDirectory, cleanGitEnv, gitApply, readCurrentFiles } from "./testing-tree.js";
import { writeTree, type TreeSpec } from "./testing-parity.js";

export interface PatchBenchOptions {
  /** Files the patch changes (default 50). */
  files?: number;
  /** Measured runs of each (default 30, after 3 warm-up runs). */
  runs?: number;
  /** Print a table (default true). */
  print?: boolean;
}

export interface PatchBenchTiming {
  median: number;
  p95: number;
}

export interface PatchBenchResult {
  files: number;
  hunks: number;
  patchBytes: number;
  /** parsePatch + preflightPatch on files already in memory: the engine's own cost. */
  engine: PatchBenchTiming;
  /** The engine end to end on a local directory: read the files, preflight, write the plan. */
  engineWithFiles: PatchBenchTiming;
  /** `git apply` on the same tree (a process per run). */
  gitApply: PatchBenchTiming;
}

function stats(ms: number[]): PatchBenchTiming {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p95: at(0.95) };
}

/** Deterministic source-like text: `n` lines of a module. */
function moduleText(seed: number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(i % 9 === 0 ? `export function f${seed}_${i}(x) {` : i % 9 === 8 ? "}" : `  const v${i} = x * ${(seed * 31 + i) % 97} + ${i};`);
  return `${out.join("\n")}\n`;
}

/** The tree before and after: `files` modules of 400 lines, each changed in four places (one a moved block). */
function trees(files: number): { before: TreeSpec; after: TreeSpec } {
  const before: TreeSpec = {};
  const after: TreeSpec = {};
  for (let f = 0; f < files; f++) {
    const path = `src/mod${String(f).padStart(3, "0")}.js`;
    const text = moduleText(f, 400);
    before[path] = text;
    const lines = text.split("\n");
    lines[20] = `  // changed in file ${f}`;
    lines.splice(120, 0, "  const added = 1;", "  const more = 2;");
    lines.splice(250, 3);
    lines[380] = `  return ${f};`;
    after[path] = lines.join("\n");
  }
  return { before, after };
}

/** Runs the benchmark; resolves the timings. */
export async function benchPatchEngine(options: PatchBenchOptions = {}): Promise<PatchBenchResult> {
  const files = options.files ?? 50;
  const runs = options.runs ?? 30;
  const warmup = 3;
  const dir = await mkdtemp(join(tmpdir(), "pyro-patch-bench-"));
  try {
    const { before, after } = trees(files);
    await writeTree(join(dir, "a"), before);
    await writeTree(join(dir, "b"), after);
    const diff = spawnSync("git", ["diff", "--no-index", "--no-prefix", "a", "b"], { cwd: dir, env: cleanGitEnv(dir), maxBuffer: 64 * 1024 * 1024 });
    const patch = diff.stdout;
    const parsed = parsePatch(patch);
    const current = await readCurrentFiles(join(dir, "a"), pathsToRead(parsed));

    const engine: number[] = [];
    const engineWithFiles: number[] = [];
    const git: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      let t0 = performance.now();
      const r = preflightPatch(parsePatch(patch), current);
      const tEngine = performance.now() - t0;
      if (!r.ok) throw new Error(`the engine refused the benchmark patch: ${r.error?.message}`);

      for (const name of ["e", "g"]) {
        await rm(join(dir, name), { recursive: true, force: true });
        spawnSync("cp", ["-al", join(dir, "a"), join(dir, name)]);
      }
      t0 = performance.now();
      const e = await applyPatchToDirectory(join(dir, "e"), patch);
      const tFiles = performance.now() - t0;
      if (e.error) throw new Error(`the engine refused the benchmark patch: ${e.error.message}`);
      t0 = performance.now();
      const g = gitApply(join(dir, "g"), patch);
      const tGit = performance.now() - t0;
      if (!g.ok) throw new Error(`git apply refused the benchmark patch: ${g.stderr}`);
      if (i >= warmup) {
        engine.push(tEngine);
        engineWithFiles.push(tFiles);
        git.push(tGit);
      }
    }
    const result: PatchBenchResult = {
      files: parsed.files.length,
      hunks: parsed.files.reduce((s, f) => s + f.hunks, 0),
      patchBytes: patch.length,
      engine: stats(engine),
      engineWithFiles: stats(engineWithFiles),
      gitApply: stats(git),
    };
    if (options.print ?? true) {
      const row = (name: string, s: PatchBenchTiming) => console.log(`${name.padEnd(44)} median ${s.median.toFixed(2).padStart(8)} ms   p95 ${s.p95.toFixed(2).padStart(8)} ms`);
      console.log(`\npatch apply: ${result.files} files, ${result.hunks} hunks, ${result.patchBytes} bytes of patch; ${runs} runs each (after ${warmup} warm-up runs)`);
      row("engine: parse + preflight (files in memory)", result.engine);
      row("engine: read files, preflight, write plan", result.engineWithFiles);
      row("git apply (one process)", result.gitApply);
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
