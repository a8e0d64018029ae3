/** `pyro run` end to end: real CLI → real manager → real bubblewrap sandbox → real agent. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managerLog, pyro, startManager, type TestManager } from "./harness.js";

let m: TestManager;
beforeAll(async () => {
  m = await startManager();
});
afterAll(() => m?.stop());

describe("pyro run", () => {
  it("runs git --version from debian:12 in a namespace sandbox", () => {
    const r = pyro(["run", "debian:12", "--", "git", "--version"], m.env);
    expect(r.status, r.stderr + managerLog(m)).toBe(0);
    expect(r.stdout).toMatch(/^git version 2\.39\.\d+/);
  });

  it("names the backend that ran it in --json", () => {
    const r = pyro(["run", "debian:12", "--json", "--", "git", "--version"], m.env);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ environment: "debian:12", execution_mode: "namespace", exit_code: 0 });
    expect(result.stdout).toMatch(/^git version/);
  });

  it("passes the command's exit code through", () => {
    expect(pyro(["run", "debian:12", "--", "sh", "-c", "exit 3"], m.env).status).toBe(3);
    expect(pyro(["run", "debian:12", "--", "false"], m.env).status).toBe(1);
  });

  it("keeps argument boundaries after --", () => {
    const r = pyro(["run", "debian:12", "--", "printf", "[%s]\\n", "a b", "c"], m.env);
    expect(r.stdout).toBe("[a b]\n[c]\n");
  });

  it("separates stdout and stderr and runs in /workspace", () => {
    const r = pyro(["run", "debian:12", "--", "sh", "-c", "pwd; echo oops >&2"], m.env);
    expect(r.stdout).toBe("/workspace\n");
    expect(r.stderr).toContain("oops");
  });

  it("kills a whole process tree on timeout", () => {
    const t0 = Date.now();
    const r = pyro(["run", "debian:12", "--timeout-seconds", "1", "--", "sh", "-c", "sleep 60 & sleep 60; echo never"], m.env);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/timeout/);
    expect(r.stdout).not.toContain("never");
  });

  it("reports command_not_found with exit 127", () => {
    const r = pyro(["run", "debian:12", "--", "no-such-command-xyz"], m.env);
    expect(r.status).toBe(127);
    expect(r.stderr).toContain("command_not_found");
  });
});
