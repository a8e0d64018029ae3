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
import { RECORD_FILE } from "./sandbox-record.js";
import { unenforcedLimits } from "./backends/resources.js";

const tinyBuilder: EnvironmentBuilder = {
  async build(_entry, target) {
    await mkdir(join(target, "etc"), { recursive: true });
    await writeFile(join(target, "etc/os-release"), "NAME=test\n");
  },
};

/** Starts a child process standing in for the sandbox, and reports its pid as the real backends do. */
class ChildBackend implements Backend {
  readonly name = "namespace" as const;
  readonly isolated = true;
  children: ChildProcess[] = [];
  usersDuringCreate: string[] = [];
  async probe() {
    return { available: true, detail: "", hint: "" };
  }
  async create(spec: SandboxSpec): Promise<Sandbox> {
    this.usersDuringCreate = await readdir(join(spec.environment.rootfs, "..", "users"));
    const child = spawn("sh", ["-c", "sleep 60", join(spec.dir, "root")], { stdio: "ignore" });
    this.children.push(child);
    await new Promise((r) => child.once("spawn", r));
    return {
      id: spec.id,
      backend: "namespace",
      environment: spec.environment.name,
      network: false,
      pid: child.pid!,
      agent: {} as Sandbox["agent"],
      files: {} as Sandbox["files"],
      limits: unenforcedLimits(spec.resources, "fake"),
      breaches: async () => [],
      alive: () => child.exitCode === null,
      destroy: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((r) => child.once("exit", r));
          child.kill("SIGKILL");
          await gone;
        }
        await rm(spec.dir, { recursive: true, force: true });
      },
    };
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
    expect(record).toMatchObject({ id: sandbox.id, manager: { pid: process.pid }, process: { pid: child.pid } });

    // prune --all keeps the copy while the sandbox runs...
    expect((await store.prune({ all: true })).kept.map((k) => k.path)).toEqual([copy.dir]);
    await sandbox.destroy();
    // ...and the lease ends with it.
    expect(await readdir(join(copy.dir, "users"))).toEqual([]);
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
