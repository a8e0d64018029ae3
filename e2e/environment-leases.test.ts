/**
 * Environments never vanish under running sandboxes, and managers that share a cache take
 * turns: real managers (separate processes, separate state directories), real sandboxes,
 * each test on a private cache made from the shared one (hard links, so no rebuild).
 */
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { E2E_CACHE, managerLog, PYRO, pyro, startManager, testDir, type TestManager } from "./harness.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function manager(cache: string): Promise<TestManager> {
  const m = await startManager({ PYRO_CACHE_DIR: cache });
  cleanups.push(() => m.stop());
  return m;
}

/** A private cache holding the shared cache's debian:12 copy (tree hard-linked, manifest copied) and agent runtime. */
function privateCache(withCopy = true): string {
  const cache = testDir("pyro-e2e-leases-");
  chmodSync(cache, 0o755);
  cleanups.push(() => rmSync(cache, { recursive: true, force: true }));
  execFileSync("cp", ["-al", join(E2E_CACHE, "runtime"), join(cache, "runtime")]);
  const slug = join(cache, "environments", "debian-12");
  mkdirSync(slug, { recursive: true, mode: 0o755 });
  if (withCopy) {
    const shared = join(E2E_CACHE, "environments", "debian-12");
    const name = readlinkSync(join(shared, "1"));
    mkdirSync(join(slug, name));
    execFileSync("cp", ["-al", join(shared, name, "rootfs"), join(slug, name, "rootfs")]);
    execFileSync("cp", [join(shared, name, "manifest.json"), join(slug, name, "manifest.json")]); // a copy: tests corrupt it
    mkdirSync(join(slug, name, "users"), { mode: 0o700 });
    symlinkSync(name, join(slug, "1"));
  }
  return cache;
}

/** The current debian:12 copy of `cache`. */
function currentCopy(cache: string): string {
  const slug = join(cache, "environments", "debian-12");
  return join(slug, readlinkSync(join(slug, "1")));
}

function corruptManifest(copy: string): void {
  rmSync(join(copy, "manifest.json")); // not written through: its inode is shared with nobody, but be sure
  writeFileSync(join(copy, "manifest.json"), "{ this is not a manifest");
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `pyro run debian:12 -- bash -c 'echo started; sleep 5; ls /usr/bin | wc -l'` and waits until it has started. */
async function longRun(m: TestManager): Promise<Running> {
  const child = spawn(process.execPath, [PYRO, "run", "debian:12", "--timeout-seconds", "60", "--", "bash", "-c", "echo started; sleep 5; ls /usr/bin | wc -l"], { env: m.env });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  cleanups.push(() => child.kill("SIGKILL"));
  for (let i = 0; i < 600 && !stdout.includes("started"); i++) {
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  expect(stdout, stderr + managerLog(m)).toContain("started");
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The whole manager log (managerLog keeps only its tail, for messages). */
function fullLog(m: TestManager): string {
  return readFileSync(join(m.stateDir, "manager.log"), "utf8");
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; await sleep(100)) if (cond()) return true;
  return cond();
}

describe("environments under running sandboxes", () => {
  it("inspect of a copy with a corrupt manifest reports environment_corrupt and leaves the copy on disk", async () => {
    const cache = privateCache();
    const m = await manager(cache);
    const copy = currentCopy(cache);
    const files = readdirSync(join(copy, "rootfs", "usr", "bin")).length;
    corruptManifest(copy);
    const r = pyro(["env", "inspect", "debian:12", "--json"], m.env);
    expect(r.status, r.stdout + r.stderr).toBe(125); // pyro's own failure
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "environment_corrupt", message: expect.stringContaining(copy) });
    expect(readFileSync(join(copy, "manifest.json"), "utf8")).toBe("{ this is not a manifest");
    expect(readdirSync(join(copy, "rootfs", "usr", "bin")).length).toBe(files);
    // Listing does not delete it either.
    expect(pyro(["env", "list"], m.env).status).toBe(0);
    expect(existsSync(join(copy, "rootfs", "usr", "bin", "bash"))).toBe(true);
  });

  it("a running sandbox keeps its files through `env prune --all`, which says what it kept", async () => {
    const cache = privateCache();
    const m = await manager(cache);
    const copy = currentCopy(cache);
    const files = readdirSync(join(copy, "rootfs", "usr", "bin")).length;
    const run = await longRun(m);
    const p = pyro(["env", "prune", "--all", "--json"], m.env);
    expect(p.status, p.stderr).toBe(0);
    const pruned = JSON.parse(p.stdout);
    expect(pruned.removed_paths).not.toContain(copy);
    expect(pruned.kept).toEqual(expect.arrayContaining([{ path: copy, reason: expect.stringMatching(/^in use by \d+ running sandbox/) }]));
    // Held by the sandboxes' own processes, not by the manager: a lease follows its sandbox's life.
    const holders = [...(pruned.kept as { reason: string }[]).map((k) => k.reason).join(" ").matchAll(/\(pid (\d+)\)/g)].map((x) => Number(x[1]));
    expect(holders.length).toBeGreaterThan(0);
    expect(holders).not.toContain(m.pid);
    const human = pyro(["env", "prune", "--all"], m.env);
    expect(human.stdout).toContain(`kept ${copy}: in use by`);
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout().trim().split("\n")).toEqual(["started", String(files)]);
    // Once nothing uses it, the same prune removes it.
    let removed: string[] = [];
    await waitUntil(() => {
      removed = JSON.parse(pyro(["env", "prune", "--all", "--json"], m.env).stdout).removed_paths;
      return removed.includes(copy);
    }, 10_000);
    expect(removed).toContain(copy);
  });

  it("a manager waits for another's build (its lock held, its .partial under way) and then uses that copy", async () => {
    const cache = privateCache(false);
    const slug = join(cache, "environments", "debian-12");
    const partial = join(slug, ".partial-1-0badc0de");
    mkdirSync(join(partial, "rootfs", "etc"), { recursive: true });
    writeFileSync(join(partial, "rootfs", "etc", "os-release"), "being built\n");
    // The other builder: flock(1) on the environment's lock file, held until we kill it.
    mkdirSync(join(cache, "locks"), { mode: 0o700 });
    const holder = spawn("flock", [join(cache, "locks", "env-debian-12.lock"), "sh", "-c", "echo held; exec sleep 600"], { stdio: ["ignore", "pipe", "ignore"], detached: true });
    const release = () => {
      try {
        process.kill(-holder.pid!, "SIGKILL"); // flock and the sleep that inherited its lock
      } catch {
        // gone
      }
    };
    cleanups.push(release);
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()));

    const m = await manager(cache);
    const pull = spawn(process.execPath, [PYRO, "env", "pull", "debian:12", "--json"], { env: m.env });
    let stdout = "";
    let stderr = "";
    pull.stdout.on("data", (d) => (stdout += d));
    pull.stderr.on("data", (d) => (stderr += d));
    const pulled = new Promise<number | null>((r) => pull.once("exit", (code) => r(code)));
    cleanups.push(() => pull.kill("SIGKILL"));
    expect(await waitUntil(() => /waiting for another build of debian:12/.test(stderr), 20_000), stderr + managerLog(m)).toBe(true);
    await sleep(1_000);
    expect(pull.exitCode).toBeNull(); // still waiting
    expect(readFileSync(join(partial, "rootfs", "etc", "os-release"), "utf8")).toBe("being built\n"); // and not touching the live build

    // The other builder publishes its copy, as a build does, and lets go of the lock.
    const shared = join(E2E_CACHE, "environments", "debian-12");
    const name = readlinkSync(join(shared, "1"));
    execFileSync("cp", ["-al", join(shared, name, "rootfs"), join(partial, "rootfs-new")]);
    rmSync(join(partial, "rootfs"), { recursive: true });
    execFileSync("mv", [join(partial, "rootfs-new"), join(partial, "rootfs")]);
    execFileSync("cp", [join(shared, name, "manifest.json"), join(partial, "manifest.json")]);
    mkdirSync(join(partial, "users"), { mode: 0o700 });
    execFileSync("mv", [partial, join(slug, ".copy-1-0123456789ab")]);
    symlinkSync(".copy-1-0123456789ab", join(slug, "1"));
    release();

    expect(await pulled, stderr + managerLog(m)).toBe(0);
    expect(JSON.parse(stdout).manifest.path).toBe(join(slug, ".copy-1-0123456789ab"));
    expect(fullLog(m)).not.toContain('"building environment"');
    expect(pyro(["run", "debian:12", "--", "cat", "/etc/debian_version"], m.env).stdout).toMatch(/^12\./);
  });

  it("two managers on one cache, a sandbox running, the copy corrupted: one rebuilds beside it, the other waits and uses the result", async () => {
    const cache = privateCache();
    const [a, b] = [await manager(cache), await manager(cache)];
    const old = currentCopy(cache);
    const files = readdirSync(join(old, "rootfs", "usr", "bin")).length;
    const run = await longRun(a);
    corruptManifest(old);

    // Both at once: each finds the copy corrupt and wants to build it.
    const pull = (m: TestManager) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [PYRO, "env", "pull", "debian:12", "--json"], { env: m.env });
        cleanups.push(() => child.kill("SIGKILL"));
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.once("exit", (code) => resolve({ code, stdout, stderr }));
      });
    const [pa, pb] = await Promise.all([pull(a), pull(b)]);
    expect(pa.code, pa.stderr + managerLog(a)).toBe(0);
    expect(pb.code, pb.stderr + managerLog(b)).toBe(0);
    const [ea, eb] = [JSON.parse(pa.stdout), JSON.parse(pb.stdout)];
    expect(eb.manifest.path).toBe(ea.manifest.path);
    expect(ea.manifest.path).not.toBe(old);
    expect(currentCopy(cache)).toBe(ea.manifest.path);
    const builds = [fullLog(a), fullLog(b)].map((log) => log.split("\n").filter((l) => l.includes('"building environment"')).length);
    expect(builds.sort()).toEqual([0, 1]);

    // The sandbox kept its files through the rebuild, and its old copy goes once it has ended.
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout().trim().split("\n")).toEqual(["started", String(files)]);
    expect(await waitUntil(() => !existsSync(old), 15_000), `${existsSync(old) && readdirSync(join(old, "users")).join(",")}\n${fullLog(a)}`).toBe(true);
    // A removal renames the copy aside, then deletes it: that takes a moment more.
    const leftovers = () => readdirSync(join(cache, "environments", "debian-12")).filter((n) => n.startsWith(".partial-") || n.startsWith(".trash-"));
    await waitUntil(() => leftovers().length === 0, 15_000);
    expect(leftovers()).toEqual([]);
  }, 240_000);
});
