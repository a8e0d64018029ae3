import { afterEach, describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { PyroError } from "../../sdk/src/errors.js";
import { runResultJson } from "../../sdk/src/json.js";
import { OPERATIONS } from "../../sdk/src/operations.js";
import { offeredIn } from "../../sdk/src/operations/spec.js";
import { fakeClient, okRun } from "../../cli/src/testing.js";
import { createMcpServer, serveMcp } from "./server.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()?.();
});

async function connect(fake: ReturnType<typeof fakeClient>, logs: string[] = []) {
  const server = createMcpServer({ profile: "vm-run", client: fake.client, log: (l) => logs.push(l) });
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
  return client;
}

describe("vm-run profile", () => {
  it("lists vm_run only, with the table's parameters, defaults, output schema and honest annotations", async () => {
    const client = await connect(fakeClient());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["vm_run"]);
    const tool = tools[0]!;
    const op = OPERATIONS.vm_run;
    expect(tool.description).toBe(op.description);
    const props = tool.inputSchema.properties as Record<string, { type: string; default?: unknown; description?: string }>;
    const offered = op.params.filter((p) => offeredIn(p, "vm-run"));
    expect(Object.keys(props)).toEqual(offered.map((p) => p.name));
    expect(props.backend).toBeUndefined();
    expect(tool.inputSchema).toMatchObject({ additionalProperties: false });
    for (const p of offered) {
      expect(props[p.name]?.description).toBe(p.description);
      if ("default" in p) expect(props[p.name]?.default).toBe(p.default);
    }
    expect(props.command?.type).toBe("string");
    expect(props.vcpu_count?.type).toBe("integer");
    expect([...(tool.inputSchema.required ?? [])].sort()).toEqual(["command", "environment"]);
    expect(Object.keys(tool.outputSchema?.properties ?? {}).sort()).toEqual(Object.keys(runResultJson(okRun)).sort());
    expect(tool.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, openWorldHint: true });
  });

  it("runs the command with the shell and returns the result as structuredContent", async () => {
    const fake = fakeClient(async () => ({ ...okRun, exitCode: 1, stdout: "hi\n", stderr: "oops\n" }));
    const client = await connect(fake);
    const res = (await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "echo hi; false", network: true } }, CallToolResultSchema)) as CallToolResult;
    expect(res.isError).toBeFalsy();
    expect(res.structuredContent).toEqual(runResultJson({ ...okRun, exitCode: 1, stdout: "hi\n", stderr: "oops\n" }));
    const text = (res.content[0] as { text: string }).text;
    expect(text).toContain("exited with code 1");
    expect(text).toContain("hi\n");
    const [environment, command, opts] = fake.calls[0]!.args as [string, string, Record<string, unknown>];
    expect(environment).toBe("debian:12");
    expect(command).toBe("echo hi; false");
    expect(opts).toMatchObject({ vcpuCount: 1, memMib: 1024, timeoutSeconds: 30, ttlSeconds: 600, network: true, allowHostCompat: false });
  });

  it("returns domain errors as isError results carrying the stable code", async () => {
    const fake = fakeClient(async () => {
      throw new PyroError("timeout", "the command did not finish within 30s", { data: { stdout: "part", sandboxId: "sb" } });
    });
    const client = await connect(fake);
    const res = (await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "sleep 99" } }, CallToolResultSchema)) as CallToolResult;
    expect(res.isError).toBe(true);
    const body = { error: { code: "timeout", message: "the command did not finish within 30s", hint: "raise --timeout-seconds, or make the command finish sooner", data: { stdout: "part", sandbox_id: "sb" } } };
    expect(res.structuredContent).toBeUndefined();
    expect(JSON.parse((res.content[0] as { text: string }).text)).toEqual(body);
  });

  it("hides unexpected errors as internal and logs them", async () => {
    const logs: string[] = [];
    const client = await connect(
      fakeClient(async () => {
        throw new Error("secret detail");
      }),
      logs,
    );
    const res = (await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "true" } }, CallToolResultSchema)) as CallToolResult;
    expect(res.isError).toBe(true);
    expect(JSON.parse((res.content[0] as { text: string }).text).error).toMatchObject({ code: "internal", message: "internal error in pyro" });
    expect(JSON.stringify(res)).not.toContain("secret");
    expect(logs.join("\n")).toContain("secret detail");
  });

  it("rejects arguments outside the schema before calling the manager", async () => {
    const fake = fakeClient();
    const client = await connect(fake);
    const res = (await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "true", vcpu_count: 0 } }, CallToolResultSchema)) as CallToolResult;
    expect(res.isError).toBe(true);
    expect(fake.calls).toEqual([]);
  });
});

describe("profiles", () => {
  it("refuses unknown profiles", () => {
    const { client } = fakeClient();
    for (const profile of ["nope", "toString"]) {
      try {
        createMcpServer({ profile, client, log: () => {} });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(PyroError);
        expect((err as PyroError).code).toBe("invalid_argument");
      }
    }
  });
});

describe("serveMcp over stdio", () => {
  it("speaks only MCP on stdout and returns when stdin ends", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const logs: string[] = [];
    const served = serveMcp({ profile: "vm-run", client: fakeClient().client, stdin, stdout, log: (l) => logs.push(l) });
    const lines: string[] = [];
    let buf = "";
    stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } } }) + "\n");
    await new Promise<void>((resolve) => {
      const check = () => (lines.length > 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    stdin.end();
    await served;
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ jsonrpc: "2.0", id: 1, result: { serverInfo: { name: "pyro" } } });
    expect(logs.join("\n")).toContain("ready on stdio");
  });
});
