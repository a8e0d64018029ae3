/**
 * A manager killed with runs in flight leaves nothing behind once a new one runs on its
 * state directory: no sandbox process, directory, loop device or cgroup. The new one
 * starts at once, as a client or a service manager would start it, so the killed one's
 * newest cgroups are only seconds old when it first looks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { detectCgroups } from "../host/src/backends/namespace/cgroups.js";
import { createSandboxDir, newSandboxRecord } from "../host/src/sandbox-record.js";
import { deadProcess } from "../host/src/testing.js";
import { Pyro } from "../sdk/src/index.js";
import { startManager, testDir, type TestManager } from "./harness.js";
import { exitedOrZombie } from "./processes.js";

const root = process.getuid?.() === 0;
let first: TestManager;
let second: TestManager | undefined;
beforeAll(async () => {
  first = await startManager();
});
afterAll(async () => {
  await second?.stop();
  await first?.stop();
});

const sandboxIds = (stateDir: string) => (existsSync(join(stateDir, "sandboxes")) ? readdirSync(join(stateDir, "sandboxes")) : []);

/** Where sandbox cgroups are made on this host (one directory per hierarchy). */
async function cgroupParents(): Promise<string[]> {
  const support = await detectCgroups();
  return support.version === 1 ? [...new Set(Object.values(support.parents))] : support.version === 2 ? [support.parent] : [];
}

/** Sandbox cgroups named after one of `ids`, in every hierarchy this host makes them in. */
async function cgroupsOf(ids: string[]): Promise<string[]> {
  return (await cgroupParents()).flatMap((p) => (existsSync(p) ? readdirSync(p).filter((n) => ids.includes(n)).map((n) => join(p, n)) : []));
}

/** Loop devices whose image lies under `dir`. */
function loopDevicesUnder(dir: string): string[] {
  const out = execFileSync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(` ${dir}/`));
}

/** Polls `probe` until it returns an empty list or `ms` passed; returns its last answer. */
async function emptyWithin<T>(ms: number, probe: () => Promise<T[]> | T[]): Promise<T[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = await probe();
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(250);
  }
}

describe.runIf(root)("a manager killed mid-run", () => {
  it("leaves no sandbox directory, loop device or cgroup once a new manager runs on its state directory", async () => {
    const client = new Pyro({ socketPath: first.socketPath, autoStart: false });
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const inFlight = client.run("debian:12", ["sleep", "10"], { onStarted: () => started() }).catch((err: unknown) => err);
    await isStarted;
    await sleep(300); // the pool makes a replacement meanwhile: it is left behind too
    const ids = sandboxIds(first.stateDir);
    expect(ids.length).toBeGreaterThan(0);
    expect(await cgroupsOf(ids)).not.toEqual([]);

    process.kill(first.pid, "SIGKILL");
    await emptyWithin(5_000, () => (existsSync(`/proc/${first.pid}`) ? [first.pid] : [])); // reaped: its lock is free
    expect(await inFlight).toBeInstanceOf(Error);
    client.close();

    second = await startManager({ PYRO_STATE_DIR: first.stateDir, PYRO_MANAGER_SOCKET: first.socketPath });
    const next = new Pyro({ socketPath: first.socketPath, autoStart: false });
    try {
      await emptyWithin(10_000, async () => ((await next.version().catch(() => undefined))?.managerPid === second!.pid ? [] : [0]));
      expect((await next.run("debian:12", ["echo", "ok"])).stdout).toBe("ok\n");
    } finally {
      next.close();
    }

    expect(await emptyWithin(30_000, () => sandboxIds(first.stateDir).filter((id) => ids.includes(id)))).toEqual([]);
    expect(await emptyWithin(30_000, () => loopDevicesUnder(first.stateDir).filter((l) => ids.some((id) => l.includes(id))))).toEqual([]);
    expect(await emptyWithin(30_000, () => cgroupsOf(ids))).toEqual([]);
  });
});

describe.runIf(root)("a manager starting where a killed one left a sandbox", () => {
  // A launch cut off by the kill can leave bubblewrap's sandbox init waiting forever for a
  // parent that is gone, alone in its cgroup: stood in for here by a process of the test's.
  const id = `sb-${randomBytes(5).toString("hex")}`;
  let stuck: ReturnType<typeof spawn> | undefined;
  let dirs: string[] = [];
  let manager: TestManager | undefined;
  const base = testDir();
  afterAll(async () => {
    if (stuck?.pid && !(await exitedOrZombie(stuck.pid))) stuck.kill("SIGKILL");
    await manager?.stop();
    for (const d of dirs) if (existsSync(d)) rmdirSync(d);
    rmSync(base, { recursive: true, force: true });
  });

  it("ends the processes still in that sandbox's cgroups and removes them", async () => {
    const stateDir = join(base, "state");
    // As pyro leaves one: a directory with its record, naming a manager that is gone and no processes yet.
    mkdirSync(join(stateDir, "sandboxes"), { recursive: true });
    const dir = join(stateDir, "sandboxes", id);
    const resources = { vcpuCount: 1, memMib: 512, diskMib: 1024, pidsMax: 64 };
    const spec = { id, dir, environment: { name: "debian:12", rootfs: "/nonexistent" }, network: false, resources, durable: false };
    await createSandboxDir({ ...(await newSandboxRecord(spec, "namespace")), manager: await deadProcess() });
    dirs = (await cgroupParents()).map((p) => join(p, id));
    expect(dirs).not.toEqual([]);
    stuck = spawn("sleep", ["300"], { stdio: "ignore" });
    for (const d of dirs) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "cgroup.procs"), String(stuck.pid));
    }

    manager = await startManager({ PYRO_STATE_DIR: stateDir, PYRO_MANAGER_SOCKET: join(stateDir, "manager.sock") });
    expect(await exitedOrZombie(stuck.pid!)).toBe(true);
    expect(await emptyWithin(5_000, () => dirs.filter((d) => existsSync(d)))).toEqual([]);
    expect(existsSync(join(stateDir, "sandboxes", id))).toBe(false);
  });
});
