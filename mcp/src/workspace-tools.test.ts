/** The workspace profiles over MCP, with the official SDK client, against an in-memory WorkspaceService. */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { FakeWorkspaces } from "../../sdk/src/fake-workspace-service.js";
import { MCP_PROFILES, OPERATIONS } from "../../sdk/src/operations.js";
import { offeredIn, type McpProfileName } from "../../sdk/src/operations/spec.js";
import { fakeClient } from "../../cli/src/testing.js";
import { createMcpServer } from "./server.js";

const root = mkdtempSync(join(tmpdir(), "pyro-mcp-ws-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()?.();
});

async function connect(profile: McpProfileName, state = new FakeWorkspaces()) {
  const fake = fakeClient(undefined, state);
  const server = createMcpServer({ profile, client: fake.client, log: () => {} });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "test", version: "0" });
  await client.connect(clientSide);
  // As real clients do: listing the tools makes the client check results against their output schemas.
  await client.listTools();
  closers.push(async () => {
    await client.close();
    await server.close();
  });
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args }, CallToolResultSchema)) as CallToolResult;
  return { client, call, state };
}

function text(r: CallToolResult): string {
  return (r.content[0] as { text: string }).text;
}

describe("profiles", () => {
  it("workspace-core lists the core loop, with strict, narrowed schemas and output schemas", async () => {
    const { client } = await connect("workspace-core");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(MCP_PROFILES["workspace-core"]);
    for (const t of tools) {
      const op = OPERATIONS[t.name as keyof typeof OPERATIONS];
      expect(t.inputSchema, t.name).toMatchObject({ additionalProperties: false });
      expect(Object.keys(t.inputSchema.properties ?? {}), t.name).toEqual(op.params.filter((p) => offeredIn(p, "workspace-core")).map((p) => p.name));
      expect(t.outputSchema, t.name).toBeDefined();
      expect(t.annotations, t.name).toMatchObject(op.annotations);
    }
    const create = tools.find((t) => t.name === "workspace_create")!;
    expect(Object.keys(create.inputSchema.properties ?? {})).not.toContain("network");
    const reset = tools.find((t) => t.name === "workspace_reset")!;
    expect(Object.keys(reset.inputSchema.properties ?? {})).toEqual(["workspace_id"]);
    const exec = tools.find((t) => t.name === "workspace_exec")!;
    expect((exec.inputSchema.properties as Record<string, { minimum?: number; maximum?: number }>).timeout_seconds).toMatchObject({ minimum: 1, maximum: 86_400 });
    expect(client.getInstructions()).toContain("workspace_reset");
  });

  it("workspace-full lists every tool; vm-run only vm_run", async () => {
    expect((await (await connect("workspace-full")).client.listTools()).tools.map((t) => t.name).sort()).toEqual(Object.keys(OPERATIONS).sort());
    expect((await (await connect("vm-run")).client.listTools()).tools.map((t) => t.name)).toEqual(["vm_run"]);
  });
});

describe("the loop", () => {
  it("create → write → read → patch → exec → diff → export → reset → delete", async () => {
    const { call, state } = await connect("workspace-core");
    const created = await call("workspace_create", { environment: "debian:12", name: "app", labels: { task: "1" } });
    expect(created.isError).toBeFalsy();
    const id = (created.structuredContent as { workspace_id: string }).workspace_id;
    expect(text(created)).toContain(`Workspace ${id} (app) is started`);

    expect((await call("workspace_file_write", { workspace_id: id, path: "src/a.txt", text: "one\ntwo\n" })).structuredContent).toEqual({ path: "src/a.txt", bytes_written: 8 });
    const read = await call("workspace_file_read", { workspace_id: "app", path: "src/a.txt" });
    expect(read.structuredContent).toEqual({ path: "src/a.txt", content: "one\ntwo\n", size_bytes: 8, truncated: false });
    const patched = await call("workspace_patch_apply", { workspace_id: id, patch: "--- a/src/a.txt\n+++ b/src/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+three\n" });
    expect(patched.structuredContent).toMatchObject({ changed: true, files_changed: 1, files: [{ path: "src/a.txt", status: "ok" }] });
    const ran = await call("workspace_exec", { workspace_id: id, command: "cat src/a.txt" });
    expect(ran.structuredContent).toMatchObject({ exit_code: 0, stdout: "one\nthree\n", timed_out: false, sequence: 1 });
    const diff = await call("workspace_diff", { workspace_id: id });
    expect(diff.structuredContent).toMatchObject({ changed: true, entries: [{ path: "src/a.txt", change: "added" }] });
    const out = join(root, "out");
    const exported = await call("workspace_export", { workspace_id: id, path: "src", output_path: out });
    expect(exported.structuredContent).toMatchObject({ type: "directory", output_path: out, files: 1 });
    expect(readFileSync(join(out, "a.txt"), "utf8")).toBe("one\nthree\n");
    expect((await call("workspace_reset", { workspace_id: id })).structuredContent).toMatchObject({ workspace_id: id, command_count: 0 });
    expect(state.find(id).files.size).toBe(0);
    expect((await call("workspace_delete", { workspace_id: id })).structuredContent).toEqual({ workspace_id: id, deleted: true });
  });
});

describe("results a model can act on", () => {
  it("returns a patch conflict as an isError result with the stable code and every file's result", async () => {
    const state = new FakeWorkspaces();
    state.add("debian:12", "app").files.set("a.txt", { text: "one\n", mode: 0o644 });
    const { call } = await connect("workspace-core", state);
    const r = await call("workspace_patch_apply", { workspace_id: "app", patch: "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-zero\n+two\n" });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect(JSON.parse(text(r)).error).toMatchObject({
      code: "patch_conflict",
      hint: expect.stringContaining("workspace reset"),
      data: { files: [{ path: "a.txt", status: "conflict", conflict_hunk: 1, expected_lines: ["zero"] }] },
    });
    expect(state.find("app").files.get("a.txt")?.text).toBe("one\n");
  });

  it("cuts long exec output to max_output_bytes, keeping head and tail", async () => {
    const state = new FakeWorkspaces();
    state.add("debian:12", "app");
    const { call } = await connect("workspace-core", state);
    const r = await call("workspace_exec", { workspace_id: "app", command: "big 200000", max_output_bytes: 4096 });
    const s = r.structuredContent as { stdout: string; stdout_truncated: boolean };
    expect(Buffer.byteLength(s.stdout)).toBeLessThanOrEqual(4096);
    expect(s.stdout.startsWith("hhhh")).toBe(true);
    expect(s.stdout.endsWith("tttt")).toBe(true);
    expect(s.stdout).toMatch(/\[… \d+ bytes left out …\]/);
    expect(s.stdout_truncated).toBe(true);
    // The default bound applies when none is given.
    const d = (await call("workspace_exec", { workspace_id: "app", command: "big 200000" })).structuredContent as { stdout: string };
    expect(Buffer.byteLength(d.stdout)).toBeLessThanOrEqual(65_536);
  });

  it("refuses unknown and narrowed-out arguments before calling the manager", async () => {
    const { call, state } = await connect("workspace-core");
    for (const args of [{ environment: "debian:12", network: true }, { environment: "debian:12", bogus: 1 }, { environment: "debian:12", backend: "host" }, { environment: "debian:12", vcpu_count: 65 }]) {
      const r = await call("workspace_create", args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
    }
    expect((await call("workspace_reset", { workspace_id: "x", snapshot: "s" })).isError).toBe(true);
    expect(state.workspaces.size).toBe(0);
  });

  it("refuses a hostile export and leaves nothing on the host", async () => {
    const state = new FakeWorkspaces();
    state.add("debian:12", "app");
    const { call } = await connect("workspace-core", state);
    const out = join(root, "hostile");
    const r = await call("workspace_export", { workspace_id: "app", path: "hostile", output_path: out });
    expect(JSON.parse(text(r)).error.code).toBe("unsafe_archive");
    expect(existsSync(out)).toBe(false);
  });

  it("reports a missing workspace with its code and hint", async () => {
    const { call } = await connect("workspace-full");
    const r = await call("workspace_status", { workspace_id: "nope" });
    expect(JSON.parse(text(r))).toEqual({ error: { code: "workspace_not_found", message: 'no workspace "nope"', hint: "run `pyro workspace list` to see the workspaces" } });
  });

  it("offers snapshots in the full profile", async () => {
    const state = new FakeWorkspaces();
    state.add("debian:12", "app").files.set("a", { text: "1", mode: 0o644 });
    const { call } = await connect("workspace-full", state);
    expect((await call("snapshot_create", { workspace_id: "app", snapshot_name: "s1" })).structuredContent).toMatchObject({ name: "s1" });
    expect((await call("snapshot_list", { workspace_id: "app" })).structuredContent).toMatchObject({ snapshots: [{ name: "s1" }] });
    state.find("app").files.clear();
    expect((await call("workspace_reset", { workspace_id: "app", snapshot: "s1" })).isError).toBeFalsy();
    expect(state.find("app").files.get("a")?.text).toBe("1");
    expect((await call("snapshot_delete", { workspace_id: "app", snapshot_name: "s1" })).structuredContent).toEqual({ snapshot_name: "s1", deleted: true });
  });
});
