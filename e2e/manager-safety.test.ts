/**
 * Configuration and crashes cost nothing: a manager killed with SIGKILL never wedges the
 * next one, PYRO_STATE_DIR at an existing folder loses nothing pyro did not make, and
 * PYRO_MANAGER_SOCKET never replaces a file or makes directories, with a clear error on the CLI.
 */
import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PYRO, pyro, pyroEnv, testDir } from "./harness.js";
import { exitedOrZombie } from "./processes.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const d = testDir();
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Starts `pyro manager serve` and waits until it says it serves (a stale socket file may already exist). */
async function serve(env: NodeJS.ProcessEnv): Promise<{ pid: number; stderr: () => string; kill: (sig: NodeJS.Signals) => void }> {
  const child = spawn(process.execPath, [PYRO, "manager", "serve"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  cleanups.push(() => child.kill("SIGKILL"));
  for (let i = 0; i < 400 && !stderr.includes("serving on") && child.exitCode === null; i++) await sleep(25);
  if (!stderr.includes("serving on")) throw new Error(`the manager did not start (exit ${child.exitCode}): ${stderr}`);
  return { pid: child.pid!, stderr: () => stderr, kill: (sig) => child.kill(sig) };
}

describe("a killed manager never wedges the next", () => {
  it("starts at once after `kill -9`, whatever pid the lock file names (a reused one here)", async () => {
    const d = dir();
    const env = pyroEnv(d);
    const first = await serve(env);
    expect(pyro(["run", "debian:12", "--", "true"], env).status).toBe(0);
    // The pool makes a ready sandbox after the run: it will be left behind by the kill.
    const boxes = join(env.PYRO_STATE_DIR!, "sandboxes");
    let left: string[] = [];
    for (let i = 0; i < 200 && left.length === 0; i++) {
      left = readdirSync(boxes);
      await sleep(50);
    }
    expect(left.length).toBeGreaterThan(0);
    first.kill("SIGKILL");
    expect(await exitedOrZombie(first.pid)).toBe(true);
    // The pid in the file now belongs to a live process that is no manager: this test runner.
    writeFileSync(`${env.PYRO_MANAGER_SOCKET}.lock`, `${process.pid}\n`);
    const second = await serve(env);
    expect(readFileSync(`${env.PYRO_MANAGER_SOCKET}.lock`, "utf8")).toBe(`${second.pid}\n`);
    const r = pyro(["run", "debian:12", "--", "echo", "ok"], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("ok\n");
    // The dead manager's sandboxes were recorded as pyro's, and their processes are gone: removed.
    for (const name of left) expect(existsSync(join(boxes, name)), name).toBe(false);
  });
});

describe("configuration that could destroy files", () => {
  it("PYRO_STATE_DIR at an existing folder: its sandboxes/ keeps everything pyro did not make", async () => {
    const d = dir();
    const state = join(d, "mine");
    const boxes = join(state, "sandboxes");
    mkdirSync(join(boxes, "project"), { recursive: true, mode: 0o711 });
    writeFileSync(join(boxes, "notes.txt"), "keep me");
    writeFileSync(join(boxes, "project", "main.c"), "int main(void) { return 0; }\n");
    mkdirSync(join(boxes, "sb-0123456789")); // pyro's kind of name, but no record of pyro's
    writeFileSync(join(boxes, "sb-0123456789", "data"), "keep me too");
    const env = pyroEnv(d, { PYRO_STATE_DIR: state, PYRO_MANAGER_SOCKET: join(state, "manager.sock") });
    const m = await serve(env);
    const r = pyro(["run", "debian:12", "--", "true"], env);
    expect(r.status, r.stderr).toBe(0);
    m.kill("SIGTERM");
    expect(await exitedOrZombie(m.pid)).toBe(true);
    await serve(env); // a second start, too
    expect(readFileSync(join(boxes, "notes.txt"), "utf8")).toBe("keep me");
    expect(readFileSync(join(boxes, "project", "main.c"), "utf8")).toContain("main");
    expect(readFileSync(join(boxes, "sb-0123456789", "data"), "utf8")).toBe("keep me too");
  });

  it("PYRO_STATE_DIR whose sandboxes/ others can write: the manager refuses it, and its log says why", () => {
    const d = dir();
    const state = join(d, "shared");
    mkdirSync(join(state, "sandboxes"), { recursive: true });
    chmodSync(join(state, "sandboxes"), 0o777);
    writeFileSync(join(state, "sandboxes", "theirs.txt"), "not pyro's");
    const env = pyroEnv(d, { PYRO_STATE_DIR: state, PYRO_MANAGER_SOCKET: join(state, "manager.sock") });
    const r = pyro(["env", "list"], env);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain(`see the manager log at ${join(state, "manager.log")}`);
    expect(readFileSync(join(state, "manager.log"), "utf8")).toContain("is not a directory only this user can write");
    expect(readdirSync(join(state, "sandboxes"))).toEqual(["theirs.txt"]);
  });

  it("PYRO_MANAGER_SOCKET at a file: the CLI says why at once, and the file is untouched", () => {
    const d = dir();
    const file = join(d, "notes.txt");
    writeFileSync(file, "my notes\n");
    const env = pyroEnv(d, { PYRO_MANAGER_SOCKET: file });
    const r = pyro(["env", "list"], env);
    expect(r.status, r.stderr).toBe(125);
    expect(r.stderr).toContain(`invalid_configuration: ${file} exists and is not a socket`);
    expect(readFileSync(file, "utf8")).toBe("my notes\n");
    // By hand, too.
    const s = pyro(["manager", "serve", "--socket", file], env);
    expect(s.status).toBe(125);
    expect(s.stderr).toContain("invalid_configuration");
    expect(readFileSync(file, "utf8")).toBe("my notes\n");
  });

  it("PYRO_MANAGER_SOCKET in a missing directory: nothing is created, and the CLI says why", () => {
    const d = dir();
    const env = pyroEnv(d, { PYRO_MANAGER_SOCKET: join(d, "no", "such", "m.sock") });
    const r = pyro(["--json", "env", "list"], env);
    expect(r.status).toBe(125);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "invalid_configuration", message: expect.stringContaining("does not exist") });
    expect(existsSync(join(d, "no"))).toBe(false);
    expect(pyro(["manager", "serve", "--socket", join(d, "no", "m.sock")], env).status).toBe(125);
    expect(existsSync(join(d, "no"))).toBe(false);
  });

  it("PYRO_MANAGER_SOCKET longer than a socket address holds: a clear error, on the CLI and from the manager", () => {
    const d = dir();
    const long = join(d, "s".repeat(120 - d.length));
    const env = pyroEnv(d, { PYRO_MANAGER_SOCKET: long });
    const r = pyro(["run", "debian:12", "--", "true"], env);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain(`is ${Buffer.byteLength(long)} bytes; a Unix socket path holds at most 107`);
    const s = pyro(["manager", "serve", "--socket", long], env);
    expect(s.status).toBe(125);
    expect(s.stderr).toContain("a Unix socket path holds at most 107");
    expect(readdirSync(d).filter((n) => n.startsWith("sss"))).toEqual([]); // no truncated socket left anywhere
  });
});
