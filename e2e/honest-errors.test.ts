/**
 * Errors say what happened, on every surface (CLI, SDK, MCP, a stock gRPC client, raw
 * HTTP/2): a manager that dies mid-run is `manager_unavailable`, not the user's interrupt;
 * an oversized, over-long or undecodable request is `invalid_argument`, echoed in a few
 * hundred characters at most; and pyro's own failures exit with 125, apart from the
 * command's own status and from 124, 127 and 130.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Pyro } from "../sdk/src/index.js";
import { MiB, statusBytes } from "./memory.js";
import { managerLog, PYRO, pyro, ROOT, startManager, type TestManager } from "./harness.js";

type RunClient = grpc.Client & { run(req: object): grpc.ClientReadableStream<unknown> };

function grpcRunClient(socketPath: string): RunClient {
  const def = protoLoader.loadSync(["pyro/manager/v1/run_service.proto"], { includeDirs: [join(ROOT, "proto")], longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { pyro: { manager: { v1: { RunService: grpc.ServiceClientConstructor } } } };
  return new pkg.pyro.manager.v1.RunService(`unix://${socketPath}`, grpc.credentials.createInsecure()) as unknown as RunClient;
}

/** A Run through grpc-js: its error, once the call ends (undefined if it succeeded). */
function grpcRun(client: RunClient, req: object): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    const call = client.run(req);
    call.on("data", () => {});
    call.on("error", (e: grpc.ServiceError) => resolve(e));
    call.on("end", () => resolve(undefined));
  });
}

async function mcpClient(env: NodeJS.ProcessEnv): Promise<McpClient> {
  const client = new McpClient({ name: "pyro-e2e", version: "0.0.0" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [PYRO, "mcp", "serve", "--profile", "vm-run"], env: env as Record<string, string>, stderr: "pipe" }));
  return client;
}

/** Waits until a host process runs exactly `argv` (a command inside a sandbox shows in the host's /proc). */
async function processRunning(argv: string[], timeoutMs = 60_000): Promise<void> {
  const want = argv.join("\0") + "\0";
  const t0 = Date.now();
  for (;;) {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8") === want) return;
      } catch {
        // gone meanwhile
      }
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`no process ${argv.join(" ")} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function cliRun(env: NodeJS.ProcessEnv, args: string[]): { child: ChildProcess; done: Promise<{ status: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [PYRO, "run", "debian:12", ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ status: number | null; stderr: string }>((resolve) => child.once("exit", (status) => resolve({ status, stderr })));
  return { child, done };
}

/** Sends `payload` as one gRPC message to `path` on the manager socket, with nothing but Node's http2. */
function rawGrpc(socketPath: string, path: string, payload: Buffer, claimedLength = payload.length): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    const session = http2Connect("http://localhost", { createConnection: () => netConnect(socketPath) });
    session.on("error", reject);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(claimedLength, 1);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    let status: Record<string, string | string[] | undefined> = {};
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) status = h as typeof status; // trailers-only
    });
    req.on("trailers", (t) => (status = t as typeof status));
    req.on("data", () => {});
    req.on("end", () => {
      session.destroy(); // the request side of a refused message may still be open
      resolve(status);
    });
    req.on("error", reject);
    // A message shorter than its prefix claims is left open: the answer must not wait for the rest.
    if (claimedLength === payload.length) req.end(Buffer.concat([prefix, payload]));
    else req.write(Buffer.concat([prefix, payload]));
  });
}

describe("a manager killed mid-run", () => {
  let m: TestManager;
  beforeAll(async () => {
    m = await startManager();
  });
  afterAll(() => m?.stop());

  it("is manager_unavailable on the CLI (exit 125), SDK, MCP and gRPC, not cancelled", async () => {
    // No client may start a replacement manager behind the test's back.
    const env = { ...m.env, PYRO_MANAGER_COMMAND: JSON.stringify(["/bin/false"]) };
    const cli = cliRun(env, ["--", "sleep", "301"]);
    const sdk = new Pyro({ socketPath: m.socketPath, autoStart: false });
    const sdkRun = sdk.run("debian:12", ["sleep", "302"]).catch((e: unknown) => e);
    const grpcClient = grpcRunClient(m.socketPath);
    const grpcDone = grpcRun(grpcClient, { environment: "debian:12", argv: ["sleep", "303"] });
    const mcp = await mcpClient(env);
    const mcpDone = mcp.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "sleep 304" } });
    try {
      for (const n of ["301", "302", "303"]) await processRunning(["sleep", n]);
      await processRunning(["/bin/sh", "-c", "sleep 304"]);
      process.kill(m.pid, "SIGKILL");

      const c = await cli.done;
      expect(c.status, c.stderr).toBe(125);
      expect(c.stderr).toMatch(/^error: manager_unavailable: /);
      expect(await sdkRun).toMatchObject({ code: "manager_unavailable" });
      const g = await grpcDone;
      expect(g?.code).toBe(grpc.status.UNAVAILABLE);
      const r = await mcpDone;
      expect(r.isError).toBe(true);
      expect(JSON.parse((r.content as { text: string }[])[0]!.text).error.code).toBe("manager_unavailable");
    } finally {
      cli.child.kill("SIGKILL");
      sdk.close();
      grpcClient.close();
      await mcp.close();
    }
  });
});

describe("honest errors from a live manager", () => {
  let m: TestManager;
  let grpcClient: RunClient;
  let sdk: Pyro;
  beforeAll(async () => {
    m = await startManager();
    grpcClient = grpcRunClient(m.socketPath);
    sdk = new Pyro({ socketPath: m.socketPath, autoStart: false });
  });
  afterAll(async () => {
    grpcClient?.close();
    sdk?.close();
    await m?.stop();
  });

  it("keeps 130 for the user's own interrupt", async () => {
    const cli = cliRun(m.env, ["--", "sleep", "305"]);
    await processRunning(["sleep", "305"]);
    cli.child.kill("SIGINT");
    const c = await cli.done;
    expect(c.status, c.stderr).toBe(130);
    expect(c.stderr).toMatch(/^error: cancelled: /);
  });

  it("exits 125 when pyro fails, and with the command's own status otherwise", () => {
    expect(pyro(["run", "debian:99", "--", "true"], m.env).status).toBe(125);
    expect(pyro(["run", "debian:12", "--no-such-flag", "--", "true"], m.env).status).toBe(125);
    expect(pyro(["run", "debian:12", "--", "sh", "-c", "exit 1"], m.env).status).toBe(1);
    expect(pyro(["run", "debian:12", "--", "sh", "-c", "exit 2"], m.env).status).toBe(2);
    expect(pyro(["run", "debian:12", "--", "no-such-command-xyz"], m.env).status).toBe(127);
    expect(pyro(["run", "debian:12", "--timeout-seconds", "1", "--", "sleep", "9"], m.env).status).toBe(124);
  });

  it("refuses a request larger than any valid one at the transport, as invalid_argument", async () => {
    const stdin = Buffer.alloc(20 * MiB);
    const g = await grpcRun(grpcClient, { environment: "debian:12", argv: ["wc", "-c"], stdin });
    expect(g?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(g?.metadata.get("pyro-error-code")).toEqual(["invalid_argument"]);
    expect(g?.details).toMatch(/larger than the manager accepts/);
    // Refused on its length prefix alone: a 1 GiB message is never waited for, nor buffered.
    const t = await rawGrpc(m.socketPath, "/pyro.manager.v1.RunService/Run", Buffer.alloc(16), 1 << 30);
    expect(t["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(t["pyro-error-code"]).toBe("invalid_argument");
    // The SDK does not even send it.
    await expect(sdk.run("debian:12", ["wc", "-c"], { stdin })).rejects.toMatchObject({ code: "invalid_argument" });
    // The largest valid stdin still goes through.
    const ok = await sdk.run("debian:12", ["wc", "-c"], { stdin: Buffer.alloc(16 * MiB) });
    expect(ok.stdout.trim()).toBe(String(16 * MiB));
  });

  it("echoes a 10 MB environment name in a few hundred characters, in the error and the log, and stays small", async () => {
    const name = "x".repeat(10 * MiB);
    const before = statusBytes(m.pid, "VmRSS")!;
    const g = await grpcRun(grpcClient, { environment: name, argv: ["true"] });
    expect(g?.metadata.get("pyro-error-code")).toEqual(["environment_not_found"]);
    expect(g!.details.length).toBeLessThan(4096);
    const e = (await sdk.run(name, ["true"]).catch((err: unknown) => err)) as Error & { code: string };
    expect(e.code).toBe("environment_not_found");
    expect(e.message.length).toBeLessThan(4096);
    const growth = statusBytes(m.pid, "VmRSS")! - before;
    process.stderr.write(`[honest-errors] manager RSS ${(before / MiB).toFixed(0)} MiB, +${(growth / MiB).toFixed(0)} MiB after two 10 MB names\n`);
    expect(growth).toBeLessThan(200 * MiB);
    const longest = Math.max(...readFileSync(join(m.stateDir, "manager.log"), "utf8").split("\n").map((l) => l.length));
    expect(longest).toBeLessThan(8192);
  });

  it("refuses one argument over 128 KiB (MAX_ARG_STRLEN) as invalid_argument on the SDK, MCP and gRPC", async () => {
    const big = "x".repeat(128 << 10);
    await expect(sdk.run("debian:12", ["echo", big])).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/argument 2 of the command is 131072 bytes/) });
    await expect(sdk.run("debian:12", ["true"], { env: { BIG: big } })).rejects.toMatchObject({ code: "invalid_argument" });
    const g = await grpcRun(grpcClient, { environment: "debian:12", shellCommand: `echo ${big}` });
    expect(g?.metadata.get("pyro-error-code")).toEqual(["invalid_argument"]);
    const mcp = await mcpClient(m.env);
    try {
      const r = await mcp.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: `echo ${big}` } });
      expect(r.isError).toBe(true);
      expect(JSON.parse((r.content as { text: string }[])[0]!.text).error.code).toBe("invalid_argument");
    } finally {
      await mcp.close();
    }
    // One byte less still runs.
    const ok = await sdk.run("debian:12", ["sh", "-c", 'printf %s "$1" | wc -c', "sh", "x".repeat((128 << 10) - 1)]);
    expect(ok.stdout.trim()).toBe(String((128 << 10) - 1));
  });

  it("answers garbage and non-UTF-8 protobuf with invalid_argument, on unary and streaming methods", async () => {
    const garbage = Buffer.from("ffffffffff", "hex"); // a field with a truncated varint
    const notUtf8 = Buffer.from("0a02c328", "hex"); // field 1 (a string) holding the bytes C3 28
    for (const path of ["/pyro.manager.v1.RunService/Run", "/pyro.manager.v1.EnvironmentService/InspectEnvironment", "/pyro.manager.v1.EnvironmentService/PullEnvironment"]) {
      for (const payload of [garbage, notUtf8]) {
        const t = await rawGrpc(m.socketPath, path, payload);
        expect(t["grpc-status"], `${path} ${payload.toString("hex")}: ${JSON.stringify(t)}`).toBe(String(grpc.status.INVALID_ARGUMENT));
        expect(t["pyro-error-code"]).toBe("invalid_argument");
      }
    }
    // The manager is unharmed.
    expect(pyro(["run", "debian:12", "--", "true"], m.env).status, managerLog(m)).toBe(0);
  });
});
