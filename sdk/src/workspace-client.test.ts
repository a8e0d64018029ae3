/** The SDK's workspace methods against an in-memory WorkspaceService (real protobuf, in-process transport). */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PyroError } from "./errors.js";
import { fakeWorkspacePyro } from "./fake-workspace-service.js";
import type { PatchFileResultInfo } from "./workspace-types.js";

const root = mkdtempSync(join(tmpdir(), "pyro-ws-client-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<PyroError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PyroError);
  return err as PyroError;
}

describe("workspace lifecycle", () => {
  it("creates with labels and a name, reporting install progress, and finds it by name", async () => {
    const { pyro } = fakeWorkspacePyro();
    const progress: string[] = [];
    const ws = await pyro.createWorkspace("debian:12-build", { name: "app", labels: { team: "a" }, onProgress: (p) => progress.push(p.phase) });
    expect(ws).toMatchObject({ workspaceId: "ws-0000000001", name: "app", labels: { team: "a" }, state: "started", environment: "debian:12-build", executionMode: "namespace", ttlSeconds: 600 });
    expect(ws.limits.memMib).toEqual({ value: 1024, enforced: true, detail: "cgroup" });
    expect(progress).toEqual(["download"]);
    expect((await pyro.statusWorkspace("app")).workspaceId).toBe(ws.workspaceId);
  });

  it("lists most recently changed first, filters by labels, updates, stops, starts and deletes", async () => {
    const { pyro } = fakeWorkspacePyro();
    const a = await pyro.createWorkspace("debian:12", { labels: { k: "1" } });
    const b = await pyro.createWorkspace("debian:12");
    expect((await pyro.listWorkspaces()).map((w) => w.workspaceId)).toEqual([b.workspaceId, a.workspaceId]);
    await pyro.execWorkspace(a.workspaceId, ["echo", "hi"]);
    expect((await pyro.listWorkspaces()).map((w) => w.workspaceId)).toEqual([a.workspaceId, b.workspaceId]);
    expect((await pyro.listWorkspaces({ labels: { k: "1" } })).map((w) => w.workspaceId)).toEqual([a.workspaceId]);
    const u = await pyro.updateWorkspace(a.workspaceId, { name: "renamed", labels: { x: "y" }, clearLabels: ["k"] });
    expect(u).toMatchObject({ name: "renamed", labels: { x: "y" } });
    expect((await pyro.stopWorkspace("renamed")).state).toBe("stopped");
    expect((await rejection(pyro.execWorkspace("renamed", "echo no"))).code).toBe("workspace_not_running");
    expect((await pyro.startWorkspace("renamed")).state).toBe("started");
    expect(await pyro.deleteWorkspace("renamed")).toEqual({ workspaceId: a.workspaceId });
    const gone = await rejection(pyro.statusWorkspace("renamed"));
    expect(gone.code).toBe("workspace_not_found");
    expect(gone.hint).toBe("run `pyro workspace list` to see the workspaces");
  });

  it("refuses an empty environment or workspace reference before calling", async () => {
    const { pyro } = fakeWorkspacePyro();
    expect((await rejection(pyro.createWorkspace(""))).code).toBe("invalid_argument");
    expect((await rejection(pyro.statusWorkspace(""))).code).toBe("invalid_argument");
  });
});

describe("seeds and pushes", () => {
  const dir = join(root, "seed");
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "README"), "hello\n");
  writeFileSync(join(dir, "src", "main.py"), "print(1)\n");

  it("seeds from a host directory, packed as it is read", async () => {
    const { pyro, state } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12", { seedPath: dir });
    expect([...state.find(ws.workspaceId).files.keys()].sort()).toEqual(["README", "src/main.py"]);
    expect(state.find(ws.workspaceId).baseline.get("README")?.text).toBe("hello\n");
  });

  it("seeds from a .tar.gz, sent with its compression", async () => {
    const archive = join(root, "seed.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", dir, "."]);
    const { pyro, state } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12", { seedPath: archive });
    expect(state.find(ws.workspaceId).files.get("src/main.py")?.text).toBe("print(1)\n");
  });

  it("refuses a seed that is neither, before anything is created", async () => {
    const { pyro, state } = fakeWorkspacePyro();
    expect((await rejection(pyro.createWorkspace("debian:12", { seedPath: join(root, "nope") }))).code).toBe("invalid_argument");
    expect(state.workspaces.size).toBe(0);
  });

  it("pushes a directory under a destination", async () => {
    const { pyro, state } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    const r = await pyro.pushWorkspace(ws.workspaceId, dir, { dest: "vendor" });
    expect(r).toEqual({ dest: "vendor", source: "directory", files: 2, directories: 1, bytesWritten: 15 });
    expect(state.find(ws.workspaceId).files.get("vendor/src/main.py")?.text).toBe("print(1)\n");
  });
});

describe("exec", () => {
  it("streams output live and returns the typed result", async () => {
    const { pyro } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    const seen: string[] = [];
    let started = 0;
    const r = await pyro.execWorkspace(ws.workspaceId, ["echo", "a", "b"], { onOutput: (s, d) => void seen.push(`${s}:${Buffer.from(d).toString()}`), onStarted: (s) => (started = s.sequence) });
    expect(seen).toEqual(["stdout:a b\n"]);
    expect(started).toBe(1);
    expect(r).toEqual({ sequence: 1, executionMode: "namespace", exitCode: 0, signal: "", durationMs: 3, timedOut: false, stdout: "a b\n", stderr: "", stdoutTruncated: false, stderrTruncated: false });
    expect((await pyro.execWorkspace(ws.workspaceId, "exit 3")).exitCode).toBe(3);
    expect(await pyro.execWorkspace(ws.workspaceId, "sleep 99")).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    const logs = await pyro.workspaceLogs(ws.workspaceId);
    expect(logs.entries.map((e) => [e.sequence, e.argv, e.exitCode])).toEqual([
      [1, ["echo", "a", "b"], 0],
      [2, ["/bin/sh", "-c", "exit 3"], 3],
      [3, ["/bin/sh", "-c", "sleep 99"], -1],
    ]);
    expect((await rejection(pyro.execWorkspace(ws.workspaceId, []))).code).toBe("invalid_argument");
  });
});

describe("files and patches", () => {
  it("writes, lists and reads text, streaming the read", async () => {
    const { pyro } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    expect(await pyro.writeWorkspaceFile(ws.workspaceId, "src/app.txt", "héllo\n")).toEqual({ path: "src/app.txt", bytesWritten: 7 });
    expect(await pyro.listWorkspaceFiles(ws.workspaceId, { recursive: true })).toEqual({
      path: "",
      truncated: false,
      entries: [
        { path: "src", type: "directory", sizeBytes: 0, mode: 0o755, linkTarget: "" },
        { path: "src/app.txt", type: "file", sizeBytes: 7, mode: 0o644, linkTarget: "" },
      ],
    });
    const parts: number[] = [];
    const r = await pyro.readWorkspaceFile(ws.workspaceId, "/workspace/src/app.txt", { onData: (d) => void parts.push(d.length) });
    expect(r).toEqual({ path: "/workspace/src/app.txt", content: "héllo\n", sizeBytes: 7, truncated: false });
    expect(parts).toEqual([3, 4]);
    // Cut inside "é": the half character is dropped, not shown as U+FFFD.
    expect(await pyro.readWorkspaceFile(ws.workspaceId, "src/app.txt", { maxBytes: 2 })).toMatchObject({ content: "h", truncated: true });
    expect((await rejection(pyro.readWorkspaceFile(ws.workspaceId, "src/app.txt", { maxBytes: 0 }))).code).toBe("invalid_argument");
    expect((await rejection(pyro.readWorkspaceFile(ws.workspaceId, "../etc/passwd"))).code).toBe("path_outside_workspace");
    expect((await rejection(pyro.readWorkspaceFile(ws.workspaceId, "missing"))).code).toBe("file_not_found");
  });

  it("refuses text over 1 MiB without sending it", async () => {
    const { pyro, state } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    expect((await rejection(pyro.writeWorkspaceFile(ws.workspaceId, "big", "é".repeat(600_000)))).code).toBe("too_large");
    expect(state.find(ws.workspaceId).files.size).toBe(0);
    expect((await rejection(pyro.applyWorkspacePatch(ws.workspaceId, "x".repeat((1 << 20) + 1)))).code).toBe("too_large");
  });

  it("applies a patch, reporting each file's preflight, and rejects a conflict with every file's result", async () => {
    const { pyro, state } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    await pyro.writeWorkspaceFile(ws.workspaceId, "a.txt", "one\ntwo\n");
    const seen: string[] = [];
    const ok = await pyro.applyWorkspacePatch(ws.workspaceId, "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+three\n", { onPreflight: (r) => seen.push(`${r.path}:${r.status}`) });
    expect(ok).toMatchObject({ changed: true, filesChanged: 1, files: [{ path: "a.txt", status: "ok", hunks: 1, addedLines: 1, removedLines: 1 }] });
    expect(seen).toEqual(["a.txt:ok"]);
    expect(state.find(ws.workspaceId).files.get("a.txt")?.text).toBe("one\nthree\n");
    const err = await rejection(pyro.applyWorkspacePatch(ws.workspaceId, "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+four\n"));
    expect(err.code).toBe("patch_conflict");
    expect(err.hint).toContain("pyro workspace reset");
    const files = err.data.files as PatchFileResultInfo[];
    expect(files).toMatchObject([{ path: "a.txt", status: "conflict", conflictHunk: 1, expectedLines: ["one", "two"] }]);
    expect(state.find(ws.workspaceId).files.get("a.txt")?.text).toBe("one\nthree\n");
  });
});

describe("export", () => {
  it("exports a directory and a file to new host paths", async () => {
    const { pyro } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    await pyro.writeWorkspaceFile(ws.workspaceId, "out/a.txt", "A");
    await pyro.writeWorkspaceFile(ws.workspaceId, "out/sub/b.txt", "BB");
    const dir = join(root, "export-dir", "out");
    expect(await pyro.exportWorkspace(ws.workspaceId, "out", dir)).toEqual({ path: "out", type: "directory", outputPath: dir, files: 2, directories: 1, symlinks: 0, bytesWritten: 3 });
    expect(readFileSync(join(dir, "sub", "b.txt"), "utf8")).toBe("BB");
    const file = join(root, "export-file.txt");
    expect(await pyro.exportWorkspace(ws.workspaceId, "out/a.txt", file)).toMatchObject({ type: "file", files: 1, bytesWritten: 1 });
    expect(readFileSync(file, "utf8")).toBe("A");
  });

  it("refuses an existing output path without calling the manager", async () => {
    const { pyro } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    const taken = join(root, "taken.txt");
    writeFileSync(taken, "mine");
    const err = await rejection(pyro.exportWorkspace(ws.workspaceId, "x", taken));
    expect(err.code).toBe("invalid_argument");
    expect(readFileSync(taken, "utf8")).toBe("mine");
  });

  it("refuses a hostile archive from the manager and leaves nothing behind", async () => {
    const { pyro } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    const out = join(root, "hostile", "out");
    const err = await rejection(pyro.exportWorkspace(ws.workspaceId, "hostile", out));
    expect(err.code).toBe("unsafe_archive");
    expect(existsSync(join(root, "hostile"))).toBe(false);
    expect(existsSync(join(root, "hostile", "escaped.txt"))).toBe(false);
  });
});

describe("diff, snapshots and reset", () => {
  it("diffs against the baseline, snapshots, and resets to either", async () => {
    const { pyro, state } = fakeWorkspacePyro();
    const ws = await pyro.createWorkspace("debian:12");
    expect(await pyro.diffWorkspace(ws.workspaceId)).toEqual({ changed: false, patch: "", entries: [], truncated: false });
    await pyro.writeWorkspaceFile(ws.workspaceId, "n.txt", "new\n");
    const d = await pyro.diffWorkspace(ws.workspaceId);
    expect(d).toMatchObject({ changed: true, entries: [{ path: "n.txt", change: "added", type: "file", binary: false }] });
    expect(d.patch).toContain("+++ b/n.txt");
    expect(await pyro.createSnapshot(ws.workspaceId, "one")).toEqual({ name: "one", createdAt: "2025-01-01T00:00:00Z", sizeBytes: 10240 });
    expect((await rejection(pyro.createSnapshot(ws.workspaceId, "one"))).code).toBe("snapshot_exists");
    expect((await pyro.listSnapshots(ws.workspaceId)).map((s) => s.name)).toEqual(["one"]);
    await pyro.resetWorkspace(ws.workspaceId);
    expect(state.find(ws.workspaceId).files.size).toBe(0);
    await pyro.resetWorkspace(ws.workspaceId, { snapshot: "one" });
    expect(state.find(ws.workspaceId).files.get("n.txt")?.text).toBe("new\n");
    await pyro.deleteSnapshot(ws.workspaceId, "one");
    expect((await rejection(pyro.resetWorkspace(ws.workspaceId, { snapshot: "one" }))).code).toBe("snapshot_not_found");
    expect(await pyro.reapExpired()).toEqual([]);
  });
});
