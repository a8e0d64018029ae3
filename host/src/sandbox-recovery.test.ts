import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend, Sandbox } from "./backends/backend.js";
import { silentLogger } from "./logger.js";
import { spawn } from "node:child_process";
import { identify, self } from "./process-identity.js";
import { createSandboxDir, RECORD_FILE, RECORD_FORMAT, type SandboxRecord } from "./sandbox-record.js";
import { recoverSandboxes } from "./sandbox-recovery.js";
import { deadProcess, FAKE_CAPABILITIES, fakeSandbox } from "./testing.js";

let dir: string;
let boxes: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-recovery-test-"));
  boxes = join(dir, "sandboxes");
  await mkdir(boxes);
});
const afterOnce: Array<() => void> = [];
afterEach(async () => {
  for (const f of afterOnce.splice(0)) f();
  await rm(dir, { recursive: true, force: true });
});

/** A backend that takes over whatever it is given (as stopped), except the ids in `gone`. */
function fakeBackend(gone: string[] = []) {
  const recovered: string[] = [];
  const destroyed: string[] = [];
  const backend: Backend = {
    name: "namespace",
    isolated: true,
    capabilities: FAKE_CAPABILITIES,
    probe: async () => ({ available: true, detail: "", hint: "" }),
    create: async () => ({}) as Sandbox,
    recover: async (record) => {
      if (gone.includes(record.id)) return "gone";
      recovered.push(record.id);
      return fakeSandbox({ id: record.id, record, durable: record.durable, destroy: async () => void (destroyed.push(record.id), await rm(record.dir, { recursive: true })) });
    },
  };
  return { backend, recovered, destroyed };
}

async function record(id: string, o: Partial<SandboxRecord> = {}): Promise<SandboxRecord> {
  return {
    format: RECORD_FORMAT,
    id,
    manager: await deadProcess(),
    backend: "namespace",
    dir: join(boxes, id),
    environment: { name: "debian:12", rootfs: "/nonexistent" },
    network: false,
    resources: { vcpuCount: 1, memMib: 512, diskMib: 1024, pidsMax: 64 },
    durable: false,
    state: "running",
    processes: {},
    ...o,
  };
}

describe("recoverSandboxes", () => {
  it("ends and removes only sandboxes pyro recorded whose manager is gone; everything else stays", async () => {
    const dead = await deadProcess();
    const alive = await self();
    // What a user keeps in a folder that happens to be called sandboxes/.
    await writeFile(join(boxes, "notes.txt"), "mine");
    await mkdir(join(boxes, "project"));
    await writeFile(join(boxes, "project", RECORD_FILE), JSON.stringify(await record("sb-0000000001")));
    await mkdir(join(boxes, "sb-0000000002")); // pyro's name, but no record
    // One-shot sandboxes a killed manager left: ended and removed.
    await createSandboxDir(await record("sb-0000000003"));
    await writeFile(join(boxes, "sb-0000000003", "big"), "x".repeat(1000));
    await createSandboxDir({ format: "pyro.sandbox/1", id: "sb-000000000a", manager: dead }, join(boxes, "sb-000000000a")); // the first format
    // A live manager's (another one sharing the state directory), in either format.
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    const otherManager = (await identify(other.pid!))!;
    afterOnce.push(() => other.kill("SIGKILL"));
    await createSandboxDir(await record("sb-0000000004", { manager: otherManager }));
    await createSandboxDir({ format: "pyro.sandbox/1", id: "sb-0000000005", manager: dead, process: alive }, join(boxes, "sb-0000000005"));
    // A record that names another sandbox or directory, and a link to a recorded directory elsewhere.
    await createSandboxDir(await record("sb-0000000007", { dir: join(boxes, "sb-0000000006") }), join(boxes, "sb-0000000006"));
    await createSandboxDir(await record("sb-0000000009", { dir: join(boxes, "sb-0000000009") }), join(boxes, "sb-0000000019"));
    await createSandboxDir(await record("sb-0000000008", { dir: join(dir, "elsewhere") }), join(dir, "elsewhere"));
    await symlink(join(dir, "elsewhere"), join(boxes, "sb-0000000008"));

    const ended: string[][] = [];
    const { backend, destroyed } = fakeBackend();
    const r = await recoverSandboxes({ sandboxesDir: boxes, backend: () => backend, log: silentLogger, endLeftovers: async (ids) => void ended.push(ids) });
    expect([...r.removed].sort()).toEqual(["sb-0000000003", "sb-000000000a"]);
    expect(destroyed).toEqual(["sb-0000000003"]);
    expect(ended).toEqual([["sb-000000000a"]]);
    expect(r.sandboxes.size).toBe(0);
    expect((await readdir(boxes)).sort()).toEqual(["notes.txt", "project", "sb-0000000002", "sb-0000000004", "sb-0000000005", "sb-0000000006", "sb-0000000008", "sb-0000000019"]);
    expect(await readdir(join(dir, "elsewhere"))).toEqual([RECORD_FILE]);
  });

  it("takes over durable sandboxes for their owners to claim, and ends those nobody claims", async () => {
    await createSandboxDir(await record("sb-00000000d1", { durable: true }));
    await createSandboxDir(await record("sb-00000000d2", { durable: true, state: "stopped" }));
    await createSandboxDir(await record("sb-00000000d3", { durable: true }));
    await createSandboxDir(await record("sb-00000000d4", { durable: true }));
    const { backend, recovered, destroyed } = fakeBackend(["sb-00000000d4"]);
    const r = await recoverSandboxes({ sandboxesDir: boxes, backend: () => backend, log: silentLogger });
    expect(recovered.sort()).toEqual(["sb-00000000d1", "sb-00000000d2", "sb-00000000d3"]);
    expect([...r.sandboxes.keys()].sort()).toEqual(["sb-00000000d1", "sb-00000000d2", "sb-00000000d3"]);
    expect(r.gone).toEqual(["sb-00000000d4"]);
    expect(r.claim("sb-00000000d1")?.id).toBe("sb-00000000d1");
    expect(r.claim("sb-00000000d1")).toBeUndefined(); // once
    expect(r.claim("sb-00000000d2")?.id).toBe("sb-00000000d2");
    expect(await r.endUnclaimed()).toEqual(["sb-00000000d3"]);
    expect(destroyed).toEqual(["sb-00000000d3"]);
    expect(existsSync(join(boxes, "sb-00000000d1"))).toBe(true);
    expect(existsSync(join(boxes, "sb-00000000d4"))).toBe(true); // files gone is not ours to judge further: left in place
  });

  it("leaves alone a sandbox whose backend this manager does not have", async () => {
    await createSandboxDir(await record("sb-00000000e1", { backend: "firecracker", durable: true }));
    const r = await recoverSandboxes({ sandboxesDir: boxes, backend: () => undefined, log: silentLogger });
    expect(r.kept).toEqual(["sb-00000000e1"]);
  });
});

