/**
 * A corpus of real-world diffs for the patch engine: consecutive published versions of
 * popular npm packages (downloaded from the npm registry once and cached), diffed in every
 * way the product accepts patches: `git diff` with renames and copies, without them, with
 * one and zero lines of context, reversed, `git diff --no-index`, and `diff -ruN` with
 * timestamps. Each diff is applied to the tree it was made from, and the forward `git diff`
 * also to the version before (hunks that moved, hunks that conflict), as a whole and file by
 * file.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanGitEnv } from "../host/src/patch/testing-tree.js";

/** Packages and versions: chosen for renames, added and deleted files, big bundles and small edits. */
export const CORPUS_PACKAGES: ReadonlyArray<[string, string[]]> = [
  ["chalk", ["2.4.2", "3.0.0", "4.0.0", "4.1.2", "5.0.0"]],
  ["semver", ["6.3.0", "7.0.0", "7.1.0", "7.3.5", "7.5.4"]],
  ["uuid", ["3.4.0", "7.0.0", "8.0.0", "8.3.2", "9.0.0"]],
  ["yargs", ["16.2.0", "17.0.0", "17.3.1", "17.7.2"]],
  ["express", ["4.16.4", "4.17.1", "4.18.2", "4.19.2", "5.0.0"]],
  ["commander", ["6.2.1", "7.0.0", "8.3.0", "9.0.0"]],
  ["debug", ["2.6.9", "3.2.7", "4.1.1", "4.3.4"]],
  ["qs", ["6.9.7", "6.10.3", "6.11.0", "6.12.0"]],
  ["minimist", ["1.2.5", "1.2.6", "1.2.7", "1.2.8"]],
  ["lodash", ["4.17.15", "4.17.19", "4.17.20", "4.17.21"]],
  ["axios", ["0.21.4", "0.27.2", "1.0.0", "1.6.0"]],
];

/** Where tarballs are kept between runs. */
export function corpusCacheDir(): string {
  if (process.env.PYRO_PATCH_CORPUS_CACHE) return process.env.PYRO_PATCH_CORPUS_CACHE;
  if (process.env.PYRO_E2E_CACHE) return `${process.env.PYRO_E2E_CACHE}-patch-corpus`;
  return join(tmpdir(), "pyro-patch-corpus");
}

/** The registry npm itself is configured to use (a CI mirror, or registry.npmjs.org). */
function registryUrl(): string {
  let url = process.env.npm_config_registry ?? "";
  if (!url) {
    const r = spawnSync("npm", ["config", "get", "registry"], { encoding: "utf8", timeout: 15_000 });
    url = r.status === 0 ? r.stdout.trim() : "";
  }
  url ||= "https://registry.npmjs.org/";
  return url.endsWith("/") ? url : `${url}/`;
}

/**
 * Makes sure every tarball is in the cache. Returns null when they all are, or the reason
 * they cannot be (the registry is unreachable).
 */
export async function fetchTarballs(cache: string): Promise<string | null> {
  await mkdir(join(cache, "tarballs"), { recursive: true });
  const missing = CORPUS_PACKAGES.flatMap(([name, versions]) => versions.map((v) => [name, v] as const)).filter(([name, v]) => !existsSync(tarballPath(cache, name, v)));
  if (missing.length === 0) return null;
  const registry = registryUrl();
  let unreachable: string | null = null;
  const queue = [...missing];
  const worker = async () => {
    for (let item = queue.shift(); item && !unreachable; item = queue.shift()) {
      const [name, version] = item;
      const url = `${registry}${name}/-/${name}-${version}.tgz`;
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      } catch (err) {
        unreachable = `the npm registry (${registry}) is unreachable: ${(err as Error).message}`;
        return;
      }
      if (!res.ok) throw new Error(`downloading ${url}: HTTP ${res.status}`);
      const tmp = `${tarballPath(cache, name, version)}.part`;
      await writeFile(tmp, Buffer.from(await res.arrayBuffer()));
      await rename(tmp, tarballPath(cache, name, version));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return unreachable;
}

function tarballPath(cache: string, name: string, version: string): string {
  return join(cache, "tarballs", `${name}-${version}.tgz`);
}

/** Gives files 0644 or 0755 (by their owner's execute bit) and directories 0755, as a checkout would. */
async function normaliseModes(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      await chmod(path, 0o755);
      await normaliseModes(path);
    } else if (e.isFile()) {
      await chmod(path, (await stat(path)).mode & 0o100 ? 0o755 : 0o644);
    }
  }
}

function run(cmd: string, args: string[], cwd: string, okStatuses = [0]): Buffer {
  const r = spawnSync(cmd, args, { cwd, env: cleanGitEnv(cwd), maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (!okStatuses.includes(r.status ?? -1)) throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** One diff of the corpus: the patch, and the tree to apply it to. */
export interface CorpusDiff {
  name: string;
  kind: string;
  patch: Buffer;
  base: string;
  /** Apply each file's part on its own (so that one conflicting file does not hide how the others fare). */
  perFile?: boolean;
  /** Damage each file's part first (see mutatePatch), to compare how malformed patches are read. */
  mutate?: boolean;
  /** With perFile: how many of the parts to apply (enough to see every kind of change, within the test's time). */
  maxParts?: number;
}

/** A deterministic pseudo-random sequence (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One random kind of damage a patch suffers in the wild: a line lost, doubled or swapped, a
 * count or a line's first character changed, a stray marker or CR, a cut-off end.
 */
export function mutatePatch(patch: Buffer, rnd: () => number): { patch: Buffer; how: string } {
  const lines = patch.toString("latin1").split(/(?<=\n)/);
  const pick = () => Math.floor(rnd() * lines.length);
  const i = pick();
  const kinds = ["drop", "double", "swap", "count", "first", "marker", "byte", "crlf", "cut", "no-final-newline"] as const;
  const how = kinds[Math.floor(rnd() * kinds.length)]!;
  switch (how) {
    case "drop":
      lines.splice(i, 1);
      break;
    case "double":
      lines.splice(i, 0, lines[i]!);
      break;
    case "swap":
      if (i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
      break;
    case "count": {
      const h = lines.findIndex((l, k) => k >= i && l.startsWith("@@ ")) ;
      const at = h < 0 ? lines.findIndex((l) => l.startsWith("@@ ")) : h;
      if (at >= 0) lines[at] = lines[at]!.replace(/\d+/g, (d) => (rnd() < 0.3 ? String(Math.max(0, Number(d) + Math.floor(rnd() * 5) - 2)) : d));
      break;
    }
    case "first":
      lines[i] = `${[" ", "-", "+", "\\", "x", ""][Math.floor(rnd() * 6)]}${lines[i]!.slice(1)}`;
      break;
    case "marker":
      lines.splice(i + 1, 0, "\\ No newline at end of file\n");
      break;
    case "byte": {
      const l = lines[i]!;
      const at = Math.floor(rnd() * Math.max(1, l.length - 1));
      lines[i] = l.slice(0, at) + String.fromCharCode(0x20 + Math.floor(rnd() * 95)) + l.slice(at + 1);
      break;
    }
    case "crlf":
      lines[i] = lines[i]!.replace(/\n$/, "\r\n");
      break;
    case "cut":
      return { patch: patch.subarray(0, Math.floor(rnd() * patch.length)), how };
    case "no-final-newline":
      return { patch: patch.subarray(0, patch.length - 1), how };
  }
  return { patch: Buffer.from(lines.join(""), "latin1"), how };
}

/** Unpacks every version under `work` and makes the diffs (in the order they are made). */
export async function* buildCorpus(cache: string, work: string): AsyncGenerator<CorpusDiff> {
  for (const [pkg, versions] of CORPUS_PACKAGES) {
    const trees = join(work, "trees", pkg);
    const gitDir = join(work, "git", `${pkg}.git`);
    await mkdir(trees, { recursive: true });
    run("git", ["init", "-q", "--bare", gitDir], work);
    for (const v of versions) {
      const tree = join(trees, v);
      await mkdir(tree, { recursive: true });
      run("tar", ["-xzf", tarballPath(cache, pkg, v), "-C", tree, "--strip-components=1", "--no-same-owner"], work);
      await normaliseModes(tree);
      run("git", [`--git-dir=${gitDir}`, `--work-tree=${tree}`, "add", "-A"], tree);
      run("git", [`--git-dir=${gitDir}`, `--work-tree=${tree}`, "commit", "-q", "--allow-empty", "-m", v], tree);
      run("git", [`--git-dir=${gitDir}`, "tag", `v${v}`], work);
    }
    const git = (...args: string[]) => run("git", [`--git-dir=${gitDir}`, ...args], work);
    for (let i = 0; i + 1 < versions.length; i++) {
      const [a, b] = [versions[i]!, versions[i + 1]!];
      const [ta, tb] = [join(trees, a), join(trees, b)];
      const name = `${pkg} ${a}..${b}`;
      const forward = git("diff", "-M", "-C", `v${a}`, `v${b}`);
      yield { name, kind: "git -M -C", patch: forward, base: ta };
      const u1 = git("diff", "--no-renames", "-U1", `v${a}`, `v${b}`);
      yield { name, kind: "git --no-renames -U1", patch: u1, base: ta };
      yield { name, kind: "git -M -C, per file, damaged", patch: forward, base: ta, perFile: true, mutate: true, maxParts: 15 };
      const zero = git("diff", "--no-renames", "-U0", `v${a}`, `v${b}`);
      yield { name, kind: "git -U0", patch: zero, base: ta };
      yield { name, kind: "git -U0, per file", patch: zero, base: ta, perFile: true, maxParts: 12 };
      yield { name: `${pkg} ${b}..${a}`, kind: "git -M -C reversed", patch: git("diff", "-M", "-C", `v${b}`, `v${a}`), base: tb };
      if (i > 0) {
        const before = { name: `${name} onto ${versions[i - 1]}`, patch: forward, base: join(trees, versions[i - 1]!) };
        yield { ...before, kind: "git -M -C on the version before" };
        yield { ...before, kind: "git -M -C on the version before, per file", perFile: true, maxParts: 20 };
      }
      // The plain tools diff two directories side by side, named a and b as the -p1 convention wants.
      const side = join(work, "side");
      await rm(side, { recursive: true, force: true });
      await mkdir(side);
      run("cp", ["-al", ta, join(side, "a")], work);
      run("cp", ["-al", tb, join(side, "b")], work);
      yield { name, kind: "git --no-index", patch: run("git", ["diff", "--no-index", "--no-prefix", "--no-renames", "a", "b"], side, [0, 1]), base: ta };
      yield { name, kind: "diff -ruN", patch: run("diff", ["-ruN", "a", "b"], side, [0, 1]), base: ta };
    }
  }
}
