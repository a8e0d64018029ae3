import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend, Sandbox, SandboxSpec } from "./backends/backend.js";
import type { EnvironmentBuilder } from "./environments/builder.js";
import { EnvironmentStore } from "./environments/store.js";
import { CopyGone, createLeasedSandbox } from "./leased-sandbox.js";
import { silentLogger } from "./logger.js";
import { newSandboxRecord, RECORD_FILE, writeSandboxRecord } from "./sandbox-record.js";
import { identify } from "./process-identity.js";
import { FAKE_CAPABILITIES, fakeSandbox } from "./testing.js";

const tinyBuilder: EnvironmentBuilder = {
  async build(_entry, target) {
    await mkdir(join(target, "etc"), { recursive: true });
    await writeFile(join(target, "etc/os-release"), "NAME=test\n");
  },
};

/** Starts a child process standing in for the sandbox, and records it as the real backends do. */
class ChildBackend implements Backend {
  readonly name = "namespace" as const;
  readonly isolated = true;
  readonly capabilities = FAKE_CAPABILITIES;
  children: ChildProcess[] = [];
  usersDuringCreate: string[] = [];
  async probe() {
    return { available: true, detail: "", hint: "" };
  }
  async recover(): Promise<"gone"> {
    return "gone";
  }
  async create(spec: SandboxSpec): Promise<Sandbox> {
    this.usersDuringCreate = await readdir(join(spec.environment.rootfs, "..", "users"));
    const child = spawn("sh", ["-c", "sleep 60", join(spec.dir, "root")], { stdio: "ignore" });
    this.children.push(child);
    await new Promise((r) => child.once("spawn", r));
    const record = { ...(await newSandboxRecord(spec, this.name)), state: "running" as const, processes: { launch: (await identify(child.pid!))! } };
    await writeSandboxRecord(record);
    return fakeSandbox({
      id: spec.id,
      durable: spec.durable,
      record,
      pid: child.pid!,
      alive: () => child.exitCode === null,
      destroy: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((r) => child.once("exit", r));
          child.kill("SIGKILL");
          await gone;
        }
        await rm(spec.dir, { recursive: true, force: true });
      },
    });
  }
}

const resources = { vcpuCount: 1, memMib: 1024, diskMib: 4096, pidsMax: 1024 };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-leased-test-"));
  await mkdir(join(dir, "state", "sandboxes"), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("createLeasedSandbox", () => {
  it("holds a lease on its copy from before the backend reads it until it is destroyed, following the sandbox's process", async () => {
    const store = new EnvironmentStore({ cacheDir: join(dir, "cache"), mirror: "http://m.test/debian", log: silentLogger, builder: tinyBuilder });
    const copy = await store.ensure("debian:12");
    const backend = new ChildBackend();
    const sandbox = await createLeasedSandbox({ backend, store, stateDir: join(dir, "state"), log: silentLogger, environment: "debian:12", copy, network: false, resources });
    expect(backend.usersDuringCreate).toEqual([`${sandbox.id}.json`]);
    const child = backend.children[0]!;
    const lease = JSON.parse(await readFile(join(copy.dir, "users", `${sandbox.id}.json`), "utf8"));
    expect(lease.holder.pid).toBe(child.pid);
    const record = JSON.parse(await readFile(join(dir, "state", "sandboxes", sandbox.id, RECORD_FILE), "utf8"));
    expect(record).toMatchObject({ id: sandbox.id, manager: { pid: process.pid }, processes: { launch: { pid: child.pid } }, environment: { copy: copy.dir } });

    // prune --all keeps the copy while the sandbox runs...
    expect((await store.prune({ all: true })).kept.map((k) => k.path)).toEqual([copy.dir]);
    await sandbox.destroy();
    // ...and the lease ends with it.
    expect(await readdir(join(copy.dir, "users"))).toEqual([]);
    expect((await store.prune({ all: true })).removedPaths).toEqual([copy.dir]);
  });

  it("a durable sandbox's lease follows its record: kept while its processes are gone, ended with its directory", async () => {
    const store = new EnvironmentStore({ cacheDir: join(dir, "cache"), mirror: "http://m.test/debian", log: silentLogger, builder: tinyBuilder });
    const copy = await store.ensure("debian:12");
    const backend = new ChildBackend();
    const sandbox = await createLeasedSandbox({ backend, store, stateDir: join(dir, "state"), log: silentLogger, environment: "debian:12", copy, network: false, resources, durable: true });
    const lease = JSON.parse(await readFile(join(copy.dir, "users", `${sandbox.id}.json`), "utf8"));
    expect(lease).toEqual({ sandbox: sandbox.id, record: join(dir, "state", "sandboxes", sandbox.id, RECORD_FILE) });
    // Stopped (its process gone), and no manager around: the copy is still in use.
    backend.children[0]!.kill("SIGKILL");
    await new Promise((r) => backend.children[0]!.once("exit", r));
    expect((await store.prune({ all: true })).kept).toEqual([{ path: copy.dir, reason: expect.stringContaining(`${sandbox.id} (durable sandbox`) }]);
    // Its directory gone (by whatever means): the lease lapses.
    await rm(join(dir, "state", "sandboxes", sandbox.id), { recursive: true });
    expect((await store.prune({ all: true })).removedPaths).toEqual([copy.dir]);
  });

  it("refuses a copy that is gone, leaving no sandbox directory behind", async () => {
    const store = new EnvironmentStore({ cacheDir: join(dir, "cache"), mirror: "http://m.test/debian", log: silentLogger, builder: tinyBuilder });
    const copy = await store.ensure("debian:12");
    await store.prune({ all: true });
    const backend = new ChildBackend();
    await expect(createLeasedSandbox({ backend, store, stateDir: join(dir, "state"), log: silentLogger, environment: "debian:12", copy, network: false, resources })).rejects.toBeInstanceOf(CopyGone);
    expect(backend.children).toEqual([]);
    expect(await readdir(join(dir, "state", "sandboxes"))).toEqual([]);
  });
});
