/** The manager starts itself on demand, once, owner-only, logging to a file. */
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { PYRO, pyro, pyroEnv, startManager, testDir } from "./harness.js";

const dir = testDir();
const env = pyroEnv(dir);
const socket = env.PYRO_MANAGER_SOCKET!;

afterAll(() => {
  try {
    process.kill(Number(readFileSync(`${socket}.lock`, "utf8")), "SIGTERM");
  } catch {
    // not running
  }
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PYRO, ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("manager auto-start", () => {
  it("starts one manager for clients that race, with an owner-only socket and a log file", async () => {
    expect(existsSync(socket)).toBe(false);
    const results = await Promise.all([cli(["env", "list", "--json"]), cli(["env", "list", "--json"]), cli(["doctor", "--json"])]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe(""); // the manager's logs never reach the user's terminal
    }
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const pid = Number(readFileSync(`${socket}.lock`, "utf8"));
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(readFileSync(join(env.PYRO_STATE_DIR!, "manager.log"), "utf8")).toContain("manager started");
    // a second explicit start finds the first and does not replace it
    const again = pyro(["manager", "serve", "--socket", socket], env);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/already (running|serves)/);
    expect(Number(readFileSync(`${socket}.lock`, "utf8"))).toBe(pid);
  });

  it("leaves the mode of a state directory it did not make alone (PYRO_STATE_DIR=/tmp, say)", async () => {
    const shared = join(dir, "shared-tmp");
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const m = await startManager({ PYRO_STATE_DIR: shared, PYRO_MANAGER_SOCKET: join(shared, "manager.sock") });
    try {
      expect(statSync(shared).mode & 0o7777).toBe(0o1777);
      expect(pyro(["run", "debian:12", "--", "true"], m.env).status).toBe(0);
    } finally {
      await m.stop();
    }
  });

  it("reports its version without a manager", () => {
    const r = pyro(["--version"], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^pyro \d+\.\d+\.\d+/);
  });
});
