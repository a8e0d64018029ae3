/** The MCP SDK's own client talks to `pyro mcp serve` over stdio and calls vm_run in a real sandbox. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { PYRO, startManager, type TestManager } from "./harness.js";

let m: TestManager;
let client: Client;

beforeAll(async () => {
  m = await startManager();
  client = new Client({ name: "pyro-e2e", version: "0.0.0" });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [PYRO, "mcp", "serve", "--profile", "vm-run"], env: m.env as Record<string, string>, stderr: "pipe" }),
  );
});
afterAll(async () => {
  await client?.close();
  await m?.stop();
});

describe("MCP vm-run profile", () => {
  it("lists vm_run with its schema", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["vm_run"]);
    const props = Object.keys((tools[0]!.inputSchema as { properties: object }).properties);
    expect(props).toEqual(expect.arrayContaining(["environment", "command", "timeout_seconds", "network", "allow_host_compat"]));
  });

  it("calls vm_run and gets structured output", async () => {
    const r = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "git --version" } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ exit_code: 0, execution_mode: "namespace", environment: "debian:12" });
    expect((r.structuredContent as { stdout: string }).stdout).toMatch(/^git version/);
  });

  it("returns domain errors as isError results with the stable code", async () => {
    const r = await client.callTool({ name: "vm_run", arguments: { environment: "debian:99", command: "true" } });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toContain("environment_not_found");
  });
});
