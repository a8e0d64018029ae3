import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "./logger.js";
import { self } from "./process-identity.js";
import { deadProcess } from "./testing.js";
import { createSandboxDir, RECORD_FILE, removeLeftoverSandboxes, writeSandboxRecord } from "./sandbox-record.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-record-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});


describe("removeLeftoverSandboxes", () => {
  it("deletes only sandbox directories pyro recorded whose processes are all gone", async () => {
    const dead = await deadProcess();
    const alive = await self();
    const boxes = join(dir, "sandboxes");
    await mkdir(boxes);
    // What a user keeps in a folder that happens to be called sandboxes/.
    await writeFile(join(boxes, "notes.txt"), "mine");
    await mkdir(join(boxes, "project"));
    await writeFile(join(boxes, "project", RECORD_FILE), JSON.stringify({ format: "pyro.sandbox/1", id: "sb-0000000001", manager: dead }));
    await mkdir(join(boxes, "sb-0000000002")); // pyro's name, but no record
    // Left by a manager that died, with its sandbox: gone.
    await createSandboxDir(join(boxes, "sb-0000000003"), { format: "pyro.sandbox/1", id: "sb-0000000003", manager: dead });
    await writeFile(join(boxes, "sb-0000000003", "big"), "x".repeat(1000));
    // A live manager's (another one sharing the state directory).
    await createSandboxDir(join(boxes, "sb-0000000004"), { format: "pyro.sandbox/1", id: "sb-0000000004", manager: alive });
    // Its manager died, but the sandbox's own process still runs.
    await createSandboxDir(join(boxes, "sb-0000000005"), { format: "pyro.sandbox/1", id: "sb-0000000005", manager: dead });
    await writeSandboxRecord(join(boxes, "sb-0000000005"), { format: "pyro.sandbox/1", id: "sb-0000000005", manager: dead, process: alive });
    // A record that names another sandbox, and a link to a recorded directory elsewhere.
    await createSandboxDir(join(boxes, "sb-0000000006"), { format: "pyro.sandbox/1", id: "sb-0000000007", manager: dead });
    await createSandboxDir(join(dir, "elsewhere"), { format: "pyro.sandbox/1", id: "sb-0000000008", manager: dead });
    await symlink(join(dir, "elsewhere"), join(boxes, "sb-0000000008"));

    const r = await removeLeftoverSandboxes(boxes, silentLogger);
    expect(r.removed).toEqual(["sb-0000000003"]);
    expect((await readdir(boxes)).sort()).toEqual(["notes.txt", "project", "sb-0000000002", "sb-0000000004", "sb-0000000005", "sb-0000000006", "sb-0000000008"]);
    expect(await readdir(join(dir, "elsewhere"))).toEqual([RECORD_FILE]);
  });
});
