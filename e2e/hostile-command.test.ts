/**
 * What a hostile command can see and touch from inside a namespace sandbox: nothing of the
 * manager's environment, no host path, no fd the manager inherited, and not the agent
 * that runs it (ptrace, its memory, its environment and fds, its connection to the host).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { openSync, closeSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { E2E_CACHE, pyro, startManager, type TestManager } from "./harness.js";

const marker = `pyro-host-secret-${randomBytes(6).toString("hex")}`;
let m: TestManager;
let inheritedFd: number;
beforeAll(async () => {
  // The manager inherits a variable and an open fd, as one started from a user's shell would.
  inheritedFd = openSync("/etc/hostname", "r");
  m = await startManager({ PYRO_E2E_HOST_SECRET: marker }, { inheritFds: [inheritedFd] });
});
afterAll(async () => {
  await m?.stop();
  closeSync(inheritedFd);
});

const run = (script: string) => pyro(["run", "debian:12", "--", "bash", "-c", script], m.env);

/** Finds the agent's pid inside the sandbox (procps is not in debian:12). */
const FIND_AGENT = `A=; for p in /proc/[0-9]*; do if tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q 'agent.mjs'; then A=\${p#/proc/}; fi; done; [ -n "$A" ] || { echo no-agent; exit 3; }`;

describe("a hostile command in a namespace sandbox", () => {
  it("finds nothing of the manager's environment, in its own or in any process's", () => {
    const r = run("env; for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null | tr '\\0' '\\n'; done");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(marker);
    expect(r.stdout).not.toContain("PYRO_");
    expect(r.stdout).toContain("PATH=");
  });

  it("gets no fd beyond its stdio, whatever the manager inherited", () => {
    const r = run("ls -l /proc/self/fd | grep -- '->' | grep -v '/proc/[0-9]*/fd$'");
    expect(r.status, r.stderr).toBe(0);
    const fds = r.stdout.trim().split("\n").map((l) => Number(l.split(" -> ")[0]!.trim().split(/\s+/).pop()));
    expect(fds.sort()).toEqual([0, 1, 2]);
  });

  it("sees no host path in mounts, command lines or environments, and an empty /proc/cmdline", () => {
    const r = run("cat /proc/self/mountinfo /proc/1/mountinfo; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done; echo CMDLINE; cat /proc/cmdline; echo END");
    expect(r.status, r.stderr).toBe(0);
    for (const hostPath of [m.dir, m.stateDir, E2E_CACHE, "/var/lib/pyro", "/var/cache/pyro"]) expect(r.stdout).not.toContain(hostPath);
    expect(r.stdout).toContain("CMDLINE\nEND");
  });

  it("cannot ptrace the agent, read its memory, environment or fds, or take its connection", () => {
    if (process.arch !== "x64") return; // syscall numbers below are x86_64's
    const r = run(`${FIND_AGENT}
      cat /proc/$A/environ >/dev/null 2>&1 && echo environ-readable || echo environ-denied
      ls /proc/$A/fd/ >/dev/null 2>&1 && [ -n "$(ls /proc/$A/fd/ 2>/dev/null)" ] && readlink /proc/$A/fd/* >/dev/null 2>&1 && echo fds-readable || echo fds-denied
      head -c1 /proc/$A/mem >/dev/null 2>&1 && echo mem-readable || echo mem-denied
      printf x 2>/dev/null > /proc/$A/mem && echo mem-writable || echo mem-write-denied
      perl -e '$r = syscall(101, 16, $ARGV[0], 0, 0); print $r == -1 ? "ptrace-denied\\n" : "ptrace-attached\\n"' $A
      perl -e '$p = syscall(434, $ARGV[0], 0); for $fd (3..12) { if (syscall(438, $p, $fd, 0) >= 0) { print "getfd-$fd-taken\\n"; } } print "getfd-done\\n"' $A`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["environ-denied", "fds-denied", "mem-denied", "mem-write-denied", "ptrace-denied", "getfd-done"]);
  });

  it("cannot change the environment's files on the host, even as the sandbox's host uid", () => {
    if (process.getuid?.() !== 0) return; // the sandbox runs as the manager's own user then
    const slugDir = join(E2E_CACHE, "environments", "debian-12");
    const version = readdirSync(slugDir).find((v) => !v.startsWith("."))!;
    const motd = join(slugDir, version, "rootfs", "etc", "motd");
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c", `echo poisoned >> ${motd}`], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(run("cat /etc/motd").stdout).not.toContain("poisoned");
  });
});
