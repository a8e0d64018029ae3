/** Environments end to end: list, inspect, and a corrupt copy detected and rebuilt, never used. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { E2E_CACHE, managerLog, pyro, startManager, testDir, type TestManager } from "./harness.js";

let m: TestManager;
beforeAll(async () => {
  m = await startManager();
});
afterAll(() => m?.stop());

describe("environments", () => {
  it("lists the catalog, installed or not", () => {
    const r = pyro(["env", "list", "--json"], m.env);
    expect(r.status, r.stderr).toBe(0);
    const envs = JSON.parse(r.stdout).environments as { name: string; installed: boolean }[];
    expect(envs.map((e) => e.name)).toEqual(["debian:12", "debian:12-base", "debian:12-build"]);
    expect(envs.find((e) => e.name === "debian:12")?.installed).toBe(true);
  });

  it("inspects an installed environment's manifest with digests", () => {
    const r = pyro(["env", "inspect", "debian:12", "--json"], m.env);
    expect(r.status, r.stderr).toBe(0);
    const env = JSON.parse(r.stdout);
    expect(env.manifest.rootfs_digest).toMatch(/^[0-9a-f]{64}$/);
    expect(env.manifest.installed_packages).toEqual(expect.arrayContaining([expect.stringMatching(/^git=1:2\.39/)]));
  });

  it("reports doctor checks and the namespace backend as the default", () => {
    const r = pyro(["doctor", "--json"], m.env);
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.default_backend).toBe("namespace");
    expect(d.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(["kvm", "bubblewrap", "user_namespaces", "cache", "backend"]));
  });

  it("detects a corrupt copy, never runs in it, and rebuilds it", async () => {
    // A private copy of the shared cache, so the tampering touches nobody else.
    const cache = testDir("pyro-e2e-corrupt-");
    const src = join(E2E_CACHE, "environments", "debian-12");
    mkdirSync(join(cache, "environments"), { recursive: true });
    execFileSync("cp", ["-a", src, join(cache, "environments", "debian-12")]);
    chmodSync(cache, 0o755);
    const version = readdirSync(join(cache, "environments", "debian-12")).find((v) => !v.startsWith("."))!;
    const git = join(cache, "environments", "debian-12", version, "rootfs", "usr", "bin", "git");
    appendFileSync(git, "tampered");
    const own = await startManager({ PYRO_CACHE_DIR: cache });
    try {
      const r = pyro(["run", "debian:12", "--", "git", "--version"], own.env);
      expect(r.status, r.stderr + managerLog(own)).toBe(0);
      expect(r.stdout).toMatch(/^git version 2\.39/);
      expect(r.stderr).toContain("[pull] phase=download environment=debian:12"); // rebuilt, not used
      expect(managerLog(own)).toMatch(/corrupt|digest/i);
      expect(existsSync(git)).toBe(true);
    } finally {
      await own.stop();
      rmSync(cache, { recursive: true, force: true });
    }
  }, 240_000);
});
