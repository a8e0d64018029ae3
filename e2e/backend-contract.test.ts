/**
 * The contract every backend keeps, run against each real backend: a sandbox starts, its
 * agent answers, commands run with their exit codes, and destroy leaves no process or
 * directory behind. A durable sandbox keeps its files across stop and start, outlives a
 * manager killed with SIGKILL and is re-adopted by the next one (real manager processes on
 * one state directory), and destroy then leaves nothing: no process, cgroup, directory,
 * loop device or environment lease. A backend that cannot run here is skipped with its reason.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HostBackend } from "../host/src/backends/host/host-backend.js";
import { NamespaceBackend } from "../host/src/backends/namespace/namespace-backend.js";
import { FirecrackerBackend } from "../host/src/backends/firecracker-backend.js";
import type { Backend } from "../host/src/backends/backend.js";
import { silentLogger } from "../host/src/logger.js";
import { isRunning, type ProcessIdentity } from "../host/src/process-identity.js";
import { findAgentBundle, prepareAgentRuntime } from "../host/src/runtime/agent-runtime.js";
import { RECORD_FILE, type SandboxRecord } from "../host/src/sandbox-record.js";
import { buildKeeper, KeeperProcess } from "./fixtures/keeper-process.js";
import { E2E_CACHE, ROOT, startManager, testDir, type TestManager } from "./harness.js";
import { exitedOrZombie } from "./processes.js";

const dir = testDir("pyro-contract-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runtime = () => prepareAgentRuntime(E2E_CACHE, findAgentBundle(process.env));
const version = readdirSync(join(E2E_CACHE, "environments", "debian-12")).find((v) => !v.startsWith("."))!;
const rootfs = join(E2E_CACHE, "environments", "debian-12", version, "rootfs");

const resources = { vcpuCount: 1, memMib: 512, diskMib: 1024, pidsMax: 256 };

const backends: Backend[] = [
  new NamespaceBackend({ runtime, log: silentLogger, sandboxUser: { uid: 65534, gid: 65534 } }),
  new HostBackend({ runtime, log: silentLogger }),
  new FirecrackerBackend(),
];

let keeperBundle: Promise<string> | undefined;
const keepers: KeeperProcess[] = [];
const managers: TestManager[] = [];
afterEach(async () => {
  for (const k of keepers.splice(0)) await k.kill();
  for (const m of managers.splice(0)) await m.stop();
});

/** A manager process (the keeper fixture) on `stateDir`, once it has taken over what it found there. */
async function keeper(stateDir: string, backend: string): Promise<KeeperProcess> {
  keeperBundle ??= buildKeeper(testDir("pyro-keeper-"), ROOT);
  const env = { ...process.env, PYRO_CACHE_DIR: E2E_CACHE, PYRO_AGENT_BUNDLE: join(ROOT, "dist", "agent.mjs") };
  const k = new KeeperProcess(await keeperBundle, stateDir, backend, env);
  keepers.push(k);
  await k.ready;
  return k;
}

function readRecord(sandboxDir: string): SandboxRecord {
  return JSON.parse(readFileSync(join(sandboxDir, RECORD_FILE), "utf8")) as SandboxRecord;
}

const processesOf = (r: SandboxRecord) => [r.processes.launch, r.processes.init, r.processes.network].filter((p): p is ProcessIdentity => p !== undefined);

async function within<T>(ms: number, probe: () => Promise<T> | T, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await sleep(100);
  }
}

/** Loop devices whose image lies under `path`. */
function loopDevicesUnder(path: string): string[] {
  const out = execFileSync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(` ${path}/`));
}

/** The session a process is in (field 6 of /proc/<pid>/stat). */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

/** The first of `files` found in a sandbox's cgroups (v1 or v2 names), trimmed. */
function cgroupValue(cgroups: string[], files: string[]): string | undefined {
  for (const d of cgroups) {
    for (const f of files) if (existsSync(join(d, f))) return readFileSync(join(d, f), "utf8").trim();
  }
  return undefined;
}

/** What the sandbox `running` (its record while it ran) left: nothing, once it is destroyed. */
async function expectNothingLeft(running: SandboxRecord): Promise<void> {
  const live = await within(10_000, async () => (await Promise.all(processesOf(running).map(isRunning))).filter(Boolean).length, (n) => n === 0);
  expect(live, "sandbox processes left running").toBe(0);
  expect((running.cgroups ?? []).filter((c) => existsSync(c)), "cgroups left").toEqual([]);
  expect(existsSync(running.dir), "sandbox directory left").toBe(false);
  if (running.environment.copy) expect(existsSync(join(running.environment.copy, "users", `${running.id}.json`)), "environment lease left").toBe(false);
  if (process.getuid?.() === 0) expect(await within(10_000, () => loopDevicesUnder(running.dir), (l) => l.length === 0), "loop devices left").toEqual([]);
}

async function output(stream: AsyncIterable<{ event: { case: string | undefined; value?: unknown } }>) {
  let text = "";
  let exit: number | undefined;
  for await (const r of stream) {
    if (r.event.case === "output") text += Buffer.from((r.event.value as { data: Uint8Array }).data).toString();
    if (r.event.case === "exited") exit = (r.event.value as { exitCode: number }).exitCode;
  }
  return { text, exit };
}

for (const backend of backends) {
  describe(`backend contract: ${backend.name}`, async () => {
    const probe = await backend.probe();
    const why = probe.available ? "available" : `skipped: ${probe.detail}`;
    it.skipIf(!probe.available)(`starts, runs, and cleans up (${why})`, async () => {
      const sandboxDir = join(dir, `${backend.name}-1`);
      const sandbox = await backend.create({ id: "sb-00000000c1", dir: sandboxDir, environment: { name: "debian:12", rootfs }, network: false, resources, durable: false });
      expect(sandbox.backend).toBe(backend.name);
      expect(sandbox.alive()).toBe(true);
      expect(sandbox.state()).toBe("running");
      const info = await sandbox.agent.getInfo({});
      expect(info.capabilities).toContain("exec.v1");
      const r = await output(sandbox.agent.exec({ shellCommand: "echo hello; exit 5" }));
      expect(r).toEqual({ text: "hello\n", exit: 5 });
      const bg = await output(sandbox.agent.exec({ shellCommand: "sleep 300 >/dev/null 2>&1 & echo $!" }));
      const running = sandbox.record;
      await sandbox.destroy();
      expect(sandbox.alive()).toBe(false);
      expect(sandbox.state()).toBe("gone");
      await expectNothingLeft(running);
      if (backend.name === "host") expect(await exitedOrZombie(Number(bg.text))).toBe(true); // host pids are ours to see
      await sandbox.destroy(); // twice is fine
    });

    const durable = probe.available && backend.capabilities.stopStart && backend.capabilities.recover;
    it.skipIf(!durable)(`keeps a durable sandbox's files across stop and start and a manager's SIGKILL; the next manager re-adopts it (${why})`, async () => {
      const stateDir = join(dir, `${backend.name}-durable`);
      mkdirSync(stateDir, { mode: 0o711 });
      const first = await keeper(stateDir, backend.name);
      const { id, dir: sandboxDir } = await first.ask<{ id: string; dir: string }>({ op: "create" });
      expect(await first.ask({ op: "exec", id, shell: "echo kept > f && cat f" })).toEqual({ stdout: "kept\n", exitCode: 0 });

      // Stopped: no processes, files kept; the agent is not there to answer.
      const before = readRecord(sandboxDir);
      expect(await first.ask({ op: "stop", id })).toEqual({ state: "stopped" });
      expect(readRecord(sandboxDir)).toMatchObject({ state: "stopped", processes: {} });
      expect(await Promise.all(processesOf(before).map(isRunning))).toEqual(processesOf(before).map(() => false));
      await expect(first.ask({ op: "exec", id, shell: "true" })).rejects.toThrow(/not running/);

      // Started again on the same files.
      expect(await first.ask({ op: "start", id })).toEqual({ state: "running" });
      expect(await first.ask({ op: "exec", id, shell: "cat f" })).toEqual({ stdout: "kept\n", exitCode: 0 });
      const running = readRecord(sandboxDir);
      expect(running.state).toBe("running");
      // In a session of its own (no signal to the manager's group is its), with the resources it was made with.
      expect(sessionOf(running.processes.launch!.pid)).toBe(running.processes.launch!.pid);
      if (running.cgroups?.length) {
        expect(cgroupValue(running.cgroups, ["memory.limit_in_bytes", "memory.max"])).toBe(String(resources.memMib << 20));
        expect(cgroupValue(running.cgroups, ["cpu.cfs_quota_us", "cpu.max"])).toMatch(new RegExp(`^${resources.vcpuCount * 100_000}\\b`));
        expect(cgroupValue(running.cgroups, ["pids.max"])).toBe(String(resources.pidsMax));
      }
      if (running.limits?.diskMib.enforced) {
        const df = await first.ask<{ stdout: string }>({ op: "exec", id, shell: "df -m --output=size . | tail -1" });
        expect(Number(df.stdout.trim())).toBeGreaterThan(resources.diskMib * 0.9);
        expect(Number(df.stdout.trim())).toBeLessThanOrEqual(resources.diskMib);
      }

      // The manager is killed: the sandbox runs on, and the next manager takes it over as it is.
      await first.kill();
      expect(await Promise.all(processesOf(running).map(isRunning))).toEqual(processesOf(running).map(() => true));
      const second = await keeper(stateDir, backend.name);
      expect((await second.ready).recovered).toEqual([{ id, state: "running" }]);
      expect(await second.ask({ op: "exec", id, shell: "cat f; echo more >> f" })).toEqual({ stdout: "kept\n", exitCode: 0 });
      expect(readRecord(sandboxDir)).toMatchObject({ processes: running.processes, manager: { pid: second.pid } });

      await second.ask({ op: "destroy", id });
      await expectNothingLeft(running);
    });

    it.skipIf(!durable)(`reports a durable sandbox killed behind the manager's back as stopped, files kept; pyro's own manager ends what nobody claims (${why})`, async () => {
      const stateDir = join(dir, `${backend.name}-killed`);
      mkdirSync(stateDir, { mode: 0o711 });
      const first = await keeper(stateDir, backend.name);
      const { id, dir: sandboxDir } = await first.ask<{ id: string; dir: string }>({ op: "create" });
      expect(await first.ask({ op: "exec", id, shell: "echo kept > f" })).toMatchObject({ exitCode: 0 });
      const killed = readRecord(sandboxDir);
      await first.kill();
      // Someone else kills the sandbox's processes.
      for (const p of processesOf(killed)) process.kill(p.pid, "SIGKILL");
      expect(await within(5_000, async () => (await Promise.all(processesOf(killed).map(isRunning))).some(Boolean), (v) => !v)).toBe(false);

      const second = await keeper(stateDir, backend.name);
      expect((await second.ready).recovered).toEqual([{ id, state: "stopped" }]);
      expect(readRecord(sandboxDir)).toMatchObject({ state: "stopped", processes: {} });
      expect(await second.ask({ op: "start", id })).toEqual({ state: "running" });
      expect(await second.ask({ op: "exec", id, shell: "cat f" })).toEqual({ stdout: "kept\n", exitCode: 0 });
      const running = readRecord(sandboxDir);
      await second.kill();

      // `pyro manager serve` on the same state directory: it takes the sandbox over, nothing claims it (no workspace
      // knows it), so it ends and leaves nothing.
      const m = await startManager({ PYRO_STATE_DIR: stateDir, PYRO_MANAGER_SOCKET: join(stateDir, "manager.sock") });
      managers.push(m);
      await expectNothingLeft(running);
      expect(readFileSync(join(stateDir, "manager.log"), "utf8")).toContain("destroyed durable sandboxes nobody claimed");
    });

    const egress = durable && backend.capabilities.network.includes("egress");
    it.skipIf(!egress)(`gives a durable sandbox its network helper again on start, and keeps it across a manager's SIGKILL (${why})`, async () => {
      const stateDir = join(dir, `${backend.name}-network`);
      mkdirSync(stateDir, { mode: 0o711 });
      const first = await keeper(stateDir, backend.name);
      const { id, dir: sandboxDir } = await first.ask<{ id: string; dir: string }>({ op: "create", network: true });
      const hasTap = { op: "exec", id, shell: "grep -q tap0: /proc/net/dev && echo up" };
      expect(await first.ask(hasTap)).toEqual({ stdout: "up\n", exitCode: 0 });
      const before = readRecord(sandboxDir);
      expect(Object.keys(before.processes).sort()).toEqual(["init", "launch", "network"]);
      await first.ask({ op: "stop", id });
      expect(await isRunning(before.processes.network!)).toBe(false);
      await first.ask({ op: "start", id });
      const running = readRecord(sandboxDir);
      expect(Object.keys(running.processes).sort()).toEqual(["init", "launch", "network"]);
      expect(await first.ask(hasTap)).toEqual({ stdout: "up\n", exitCode: 0 });
      await first.kill();
      expect(await Promise.all(processesOf(running).map(isRunning))).toEqual([true, true, true]);
      const second = await keeper(stateDir, backend.name);
      expect((await second.ready).recovered).toEqual([{ id, state: "running" }]);
      expect(await second.ask(hasTap)).toEqual({ stdout: "up\n", exitCode: 0 });
      await second.ask({ op: "destroy", id });
      await expectNothingLeft(running);
    });

    it.skipIf(probe.available)(`is unavailable here and refuses to create: ${probe.detail}`, async () => {
      await expect(backend.create({ id: "sb-00000000c9", dir: join(dir, "x"), environment: { name: "debian:12", rootfs }, network: false, resources, durable: false })).rejects.toMatchObject({
        code: "backend_unavailable",
      });
    });
  });
}
