/**
 * Persistent workspaces against a real manager and real sandboxes, through the gRPC API:
 * lifecycle, the journal, files confined to /workspace, all-or-nothing patches, diff,
 * snapshots and reset.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extract } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceState } from "../proto/gen/pyro/manager/v1/workspace_pb.js";
import { startManager, type TestManager } from "./harness.js";
import { applyPatch, codeOf, createWorkspace, exec, exportTar, pushTar, readFile, tarOf, workspaceClient, type WorkspaceClient } from "./workspace-client.js";

let m: TestManager;
let c: WorkspaceClient;
let close: () => void;
beforeAll(async () => {
  m = await startManager();
  ({ client: c, close } = workspaceClient(m.socketPath));
});
afterAll(async () => {
  close?.();
  await m?.stop();
});

function seedDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "seed-"));
  writeFileSync(join(dir, "greeting.txt"), "hello\n");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "app.sh"), "#!/bin/sh\necho one\necho two\necho three\n", { mode: 0o755 });
  return dir;
}

async function tarNames(tar: Buffer): Promise<string[]> {
  const ex = extract();
  const names: string[] = [];
  const done = (async () => {
    for await (const e of ex) {
      names.push(e.header.name);
      e.resume();
    }
  })();
  ex.end(tar);
  await done;
  return names;
}

describe("workspace lifecycle", () => {
  it("creates from a seed, runs journaled commands, updates, stops, starts with the same files, deletes", async () => {
    const ws = await createWorkspace(c, { environment: "debian:12", name: "life", labels: { team: "a" } }, tarOf(seedDir()));
    expect(ws.state).toBe(WorkspaceState.STARTED);
    expect(ws.executionMode).toBe("namespace");
    expect(ws.limits?.memMib?.value).toBe(1024n);
    const first = await exec(c, "life", "cat greeting.txt && pwd");
    expect(first).toMatchObject({ stdout: "hello\n/workspace\n", exitCode: 0, sequence: 1 });
    const second = await exec(c, ws.workspaceId, "echo oops >&2; exit 3");
    expect(second).toMatchObject({ stderr: "oops\n", exitCode: 3, sequence: 2 });
    const logs = await c.getWorkspaceLogs({ workspace: "life" });
    expect(logs.entries.map((e) => [Number(e.sequence), e.exitCode, Buffer.from(e.stdout).toString()])).toEqual([
      [1, 0, "hello\n/workspace\n"],
      [2, 3, ""],
    ]);
    expect(await codeOf(createWorkspace(c, { environment: "debian:12", name: "life" }))).toBe("workspace_name_taken");
    const updated = await c.updateWorkspace({ workspace: "life", name: "life2", setLabels: { stage: "x" }, clearLabels: ["team"] });
    expect(updated.workspace).toMatchObject({ name: "life2", labels: { stage: "x" } });
    await exec(c, "life2", "echo kept > /workspace/state.txt && echo tmp > /tmp/t");
    const stopped = await c.stopWorkspace({ workspace: "life2" });
    expect(stopped.workspace?.state).toBe(WorkspaceState.STOPPED);
    expect(await codeOf(exec(c, "life2", "true"))).toBe("workspace_not_running");
    expect(await codeOf(readFile(c, "life2", "state.txt"))).toBe("workspace_not_running");
    const started = await c.startWorkspace({ workspace: "life2" });
    expect(started.workspace?.state).toBe(WorkspaceState.STARTED);
    expect((await exec(c, "life2", "cat state.txt")).stdout).toBe("kept\n");
    expect((await exec(c, "life2", "echo $$")).sequence).toBe(5);
    await c.deleteWorkspace({ workspace: "life2" });
    expect(await codeOf(c.getWorkspace({ workspace: ws.workspaceId }))).toBe("workspace_not_found");
  });

  it("lists most recently changed first; reads do not reorder", async () => {
    const a = await createWorkspace(c, { environment: "debian:12", labels: { list: "yes" } });
    const b = await createWorkspace(c, { environment: "debian:12", labels: { list: "yes" } });
    const order = async () => (await c.listWorkspaces({ labels: { list: "yes" } })).workspaces.map((w) => w.workspaceId);
    expect(await order()).toEqual([b.workspaceId, a.workspaceId]);
    await exec(c, a.workspaceId, "true");
    expect(await order()).toEqual([a.workspaceId, b.workspaceId]);
    await readFile(c, b.workspaceId, "/workspace/../workspace/.").catch(() => {});
    await c.listWorkspaceFiles({ workspace: b.workspaceId });
    await c.getWorkspace({ workspace: b.workspaceId });
    expect(await order()).toEqual([a.workspaceId, b.workspaceId]);
    await c.deleteWorkspace({ workspace: a.workspaceId });
    await c.deleteWorkspace({ workspace: b.workspaceId });
  });
});

describe("workspace files", () => {
  let id = "";
  beforeAll(async () => {
    id = (await createWorkspace(c, { environment: "debian:12" }, tarOf(seedDir()))).workspaceId;
    await exec(c, id, "ln -s /etc out && mkdir -p inner && ln -s /etc/passwd inner/pw && printf '\\000\\001' > bin.dat");
  });
  afterAll(async () => {
    await c.deleteWorkspace({ workspace: id }).catch(() => {});
  });

  it("writes, reads and lists text files; binary is refused with a hint", async () => {
    const w = await c.writeWorkspaceFile({ workspace: id, path: "notes/today.md", text: "# hi\n" });
    expect(w.bytesWritten).toBe(5n);
    expect(await readFile(c, id, "/workspace/notes/today.md")).toMatchObject({ text: "# hi\n", truncated: false, size: 5 });
    expect((await readFile(c, id, "greeting.txt", 3)).truncated).toBe(true);
    await exec(c, id, "chmod 700 src/app.sh");
    await c.writeWorkspaceFile({ workspace: id, path: "src/app.sh", text: "#!/bin/sh\necho new\n" });
    expect((await exec(c, id, "stat -c %a src/app.sh && ./src/app.sh")).stdout).toBe("700\nnew\n");
    const list = await c.listWorkspaceFiles({ workspace: id, path: "", recursive: true });
    const paths = list.entries.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["greeting.txt", "notes", "notes/today.md", "out", "src/app.sh"]));
    expect(list.entries.find((e) => e.path === "out")?.linkTarget).toBe("/etc");
    expect(await codeOf(readFile(c, id, "bin.dat"))).toBe("not_text");
    expect(await codeOf(c.writeWorkspaceFile({ workspace: id, path: "x", text: "a\0b" }))).toBe("not_text");
  });

  it("refuses every way out of /workspace, in read, write, list, export and push", async () => {
    const outside = ["../etc/passwd", "/etc/passwd", "out/passwd", "inner/pw", "out", "/workspace/../etc/hostname"];
    for (const p of outside) {
      expect([p, await codeOf(readFile(c, id, p))]).toEqual([p, "path_outside_workspace"]);
      expect([p, await codeOf(c.writeWorkspaceFile({ workspace: id, path: p, text: "x" }))]).toEqual([p, "path_outside_workspace"]);
      expect([p, await codeOf(exportTar(c, id, p))]).toEqual([p, "path_outside_workspace"]);
    }
    for (const p of ["..", "/etc", "out", "out/"]) expect([p, await codeOf(c.listWorkspaceFiles({ workspace: id, path: p }))]).toEqual([p, "path_outside_workspace"]);
    const small = tarOf(seedDir());
    for (const p of ["..", "/etc", "out"]) expect([p, await codeOf(pushTar(c, id, p, small))]).toEqual([p, "path_outside_workspace"]);
    // Nothing outside was touched.
    expect((await exec(c, id, "head -c 5 /etc/passwd")).stdout).toBe("root:");
  });

  it("pushes and exports archives", async () => {
    const pushed = await pushTar(c, id, "imported", tarOf(seedDir()));
    expect(pushed.files).toBe(2);
    expect((await exec(c, id, "cat imported/greeting.txt")).stdout).toBe("hello\n");
    const dir = await exportTar(c, id, "imported");
    expect(dir.type).toBe("directory");
    expect((await tarNames(dir.tar)).map((n) => n.replace(/^\.\//, "").replace(/\/$/, "")).filter(Boolean).sort()).toEqual(["greeting.txt", "src", "src/app.sh"]);
    const file = await exportTar(c, id, "imported/greeting.txt");
    expect(file.type).toBe("file");
    expect(await tarNames(file.tar)).toEqual(["greeting.txt"]);
  });
});

describe("patches, diff, snapshots and reset", () => {
  let id = "";
  beforeAll(async () => {
    id = (await createWorkspace(c, { environment: "debian:12" }, tarOf(seedDir()))).workspaceId;
  });
  afterAll(async () => {
    await c.deleteWorkspace({ workspace: id }).catch(() => {});
  });

  const good = [
    "diff --git a/src/app.sh b/src/app.sh",
    "--- a/src/app.sh",
    "+++ b/src/app.sh",
    "@@ -2,3 +2,3 @@",
    " echo one",
    "-echo two",
    "+echo TWO",
    " echo three",
    "diff --git a/added.txt b/added.txt",
    "new file mode 100644",
    "--- /dev/null",
    "+++ b/added.txt",
    "@@ -0,0 +1 @@",
    "+new",
    "diff --git a/greeting.txt b/greeting.txt",
    "deleted file mode 100644",
    "--- a/greeting.txt",
    "+++ /dev/null",
    "@@ -1 +0,0 @@",
    "-hello",
    "",
  ].join("\n");

  it("a conflicting patch writes nothing, and names the file, the hunk and the lines", async () => {
    const bad = good.replace(" echo three", " echo THREE");
    let err: unknown;
    try {
      await applyPatch(c, id, bad);
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/patch_conflict|does not apply/);
    expect((await exec(c, id, "cat greeting.txt src/app.sh; ls added.txt 2>&1 || true")).stdout).toBe("hello\n#!/bin/sh\necho one\necho two\necho three\nls: cannot access 'added.txt': No such file or directory\n");
  });

  it("applies a patch all together, diff shows it, reset goes back", async () => {
    const r = await applyPatch(c, id, good);
    expect(r.applied.changed).toBe(true);
    expect(r.preflight.map((p) => p.path).sort()).toEqual(["added.txt", "greeting.txt", "src/app.sh"]);
    expect((await exec(c, id, "./src/app.sh; cat added.txt; test -e greeting.txt || echo gone")).stdout).toBe("one\nTWO\nthree\nnew\ngone\n");
    const d = await c.diffWorkspace({ workspace: id });
    expect(d.changed).toBe(true);
    expect(d.entries.map((e) => `${e.change}:${e.path}`).sort()).toEqual(["added:added.txt", "deleted:greeting.txt", "modified:src/app.sh"]);
    expect(d.patch).toContain("+echo TWO");
    await c.createSnapshot({ workspace: id, name: "patched" });
    expect(await codeOf(c.createSnapshot({ workspace: id, name: "patched" }))).toBe("snapshot_exists");
    const reset = await c.resetWorkspace({ workspace: id });
    expect(reset.workspace?.commandCount).toBe(0);
    expect((await c.diffWorkspace({ workspace: id })).changed).toBe(false);
    expect((await c.getWorkspaceLogs({ workspace: id })).entries).toEqual([]);
    await c.resetWorkspace({ workspace: id, snapshot: "patched" });
    expect((await exec(c, id, "cat added.txt")).stdout).toBe("new\n");
    expect((await c.listSnapshots({ workspace: id })).snapshots.map((s) => s.name)).toEqual(["patched"]);
    await c.deleteSnapshot({ workspace: id, name: "patched" });
    expect(await codeOf(c.resetWorkspace({ workspace: id, snapshot: "patched" }))).toBe("snapshot_not_found");
  });
});
