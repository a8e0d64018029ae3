/** Each failure is one line with a stable code and the next step; the same code on CLI and SDK. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Pyro } from "../sdk/src/index.js";
import { pyro, startManager, testDir, type TestManager } from "./harness.js";

let m: TestManager;
beforeAll(async () => {
  m = await startManager();
});
afterAll(() => m?.stop());

function oneLineError(stderr: string, code: string): void {
  const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("[pull]"));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(code);
  expect(lines[0]).toMatch(/next: /);
}

describe("errors", () => {
  it("unknown environment: environment_not_found on CLI and SDK", async () => {
    const r = pyro(["run", "debian:99", "--", "true"], m.env);
    expect(r.status).toBe(125);
    oneLineError(r.stderr, "environment_not_found");
    const sdk = new Pyro({ socketPath: m.socketPath, autoStart: false });
    await expect(sdk.run("debian:99", ["true"])).rejects.toMatchObject({ code: "environment_not_found" });
    sdk.close();
  });

  it("bad flags: invalid_argument, exit 125", () => {
    const r = pyro(["run", "--timeout-seconds", "soon", "debian:12", "--", "true"], m.env);
    expect(r.status).toBe(125);
    oneLineError(r.stderr, "invalid_argument");
  });

  it("a timeout has the code timeout on the SDK too", async () => {
    const sdk = new Pyro({ socketPath: m.socketPath, autoStart: false });
    await expect(sdk.run("debian:12", "echo partial; sleep 30", { timeoutSeconds: 1 })).rejects.toMatchObject({ code: "timeout" });
    sdk.close();
  });

  it("the host backend needs --allow-host-compat", () => {
    const r = pyro(["run", "debian:12", "--backend", "host", "--", "true"], m.env);
    expect(r.status).toBe(125);
    oneLineError(r.stderr, "host_compat_not_allowed");
    const ok = pyro(["run", "debian:12", "--backend", "host", "--allow-host-compat", "--json", "--", "echo", "hi"], m.env);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ execution_mode: "host", stdout: "hi\n" });
  });

  it("an environment that cannot be built (no package mirror): environment_build_failed", async () => {
    const cache = testDir();
    const offline = await startManager({ PYRO_CACHE_DIR: cache, PYRO_DEBIAN_MIRROR: "http://127.0.0.1:9/debian" });
    try {
      const r = pyro(["env", "pull", "debian:12-base"], offline.env);
      expect(r.status).toBe(125);
      oneLineError(r.stderr, "environment_build_failed");
      // nothing half-built is left to be used
      expect(JSON.parse(pyro(["env", "list", "--json"], offline.env).stdout).environments.every((e: { installed: boolean }) => !e.installed)).toBe(true);
    } finally {
      await offline.stop();
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("missing bubblewrap: backend_unavailable, never a silent fallback", async () => {
    // A PATH with every program of this host except bwrap.
    const dir = testDir();
    const bin = join(dir, "bin");
    mkdirSync(bin);
    for (const d of ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
      for (const f of readdirSync(d)) {
        if (f === "bwrap") continue;
        try {
          symlinkSync(join(d, f), join(bin, f));
        } catch {
          // already linked from an earlier directory
        }
      }
    }
    const bare = await startManager({ PATH: bin });
    try {
      const r = pyro(["run", "debian:12", "--", "true"], bare.env);
      expect(r.status).toBe(125);
      oneLineError(r.stderr, "backend_unavailable");
      expect(r.stderr).toContain("bubblewrap");
      const doctor = JSON.parse(pyro(["doctor", "--json"], bare.env).stdout);
      expect(doctor.checks.find((c: { name: string }) => c.name === "bubblewrap")).toMatchObject({ status: "fail" });
    } finally {
      await bare.stop();
    }
  });
});
