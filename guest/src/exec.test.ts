import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Http2Server } from "node:http2";
import { createClient, type Client } from "@connectrpc/connect";
import { AgentService, type ExecResponse } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import { fromConnectError } from "../../sdk/src/errors.js";
import { unixTransport, type UnixTransport } from "../../sdk/src/transport.js";
import { BASE_ENV } from "./exec.js";
import { ProcessTable } from "./process/process-table.js";
import { serveAgent } from "./server.js";
import { CAPABILITIES } from "./get-info.js";
import { exitedOrZombie } from "../../e2e/processes.js";

let dir: string;
let server: Http2Server;
let conn: UnixTransport;
let agent: Client<typeof AgentService>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pyro-agent-test-"));
  server = await serveAgent({ socketPath: join(dir, "agent.sock") }, new ProcessTable({ workspaceDir: dir, baseEnv: BASE_ENV, defaultBufferBytes: 256 << 10 }));
  conn = unixTransport(join(dir, "agent.sock"));
  agent = createClient(AgentService, conn.transport);
});
afterAll(() => {
  conn.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(req: Parameters<typeof agent.exec>[0]) {
  const events: ExecResponse["event"][] = [];
  for await (const res of agent.exec(req)) events.push(res.event);
  const text = (stream: OutputStream) =>
    Buffer.concat(events.flatMap((e) => (e.case === "output" && e.value.stream === stream ? [Buffer.from(e.value.data)] : []))).toString();
  const exited = events.at(-1);
  if (exited?.case !== "exited") throw new Error("last event is not exited");
  return { events, stdout: text(OutputStream.STDOUT), stderr: text(OutputStream.STDERR), exited: exited.value };
}

describe("guest agent", () => {
  it("reports version and capabilities", async () => {
    const info = await agent.getInfo({});
    expect(info.capabilities).toEqual([...CAPABILITIES]);
    expect(info.workspaceDir).toBe(dir);
  });

  it("runs argv, streams started/output/exited, and passes the exit code", async () => {
    const r = await run({ argv: ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"] });
    expect(r.events[0]?.case).toBe("started");
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.exited.exitCode).toBe(7);
    expect(r.exited.timedOut).toBe(false);
  });

  it("runs a shell command in the workspace with a clean environment plus the request's", async () => {
    const r = await run({ shellCommand: 'pwd; echo "$FOO"; echo "${PYRO_SECRET_TEST:-unset}"', env: { FOO: "bar" } });
    expect(r.stdout).toBe(`${dir}\nbar\nunset\n`);
  });

  it("feeds stdin", async () => {
    const r = await run({ argv: ["cat"], stdin: Buffer.from("hello") });
    expect(r.stdout).toBe("hello");
  });

  it("maps a missing program to command_not_found", async () => {
    const err = await run({ argv: ["no-such-program-xyz"] }).catch((e) => fromConnectError(e));
    expect(err).toMatchObject({ code: "command_not_found" });
  });

  it("refuses bad requests with invalid_argument", async () => {
    await expect(run({}).catch((e) => Promise.reject(fromConnectError(e)))).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(run({ argv: ["true"], cwd: "does/not/exist" }).catch((e) => Promise.reject(fromConnectError(e)))).rejects.toMatchObject({
      code: "invalid_argument",
    });
  });

  it("refuses an argument or environment variable the kernel would not take (E2BIG) with invalid_argument", async () => {
    const refused = (req: Parameters<typeof agent.exec>[0]) => run(req).catch((e) => Promise.reject(fromConnectError(e)));
    await expect(refused({ argv: ["/bin/echo", "x".repeat(128 << 10)] })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("E2BIG") });
    await expect(refused({ argv: ["/bin/true"], env: { BIG: "x".repeat(128 << 10) } })).rejects.toMatchObject({ code: "invalid_argument" });
    const r = await run({ argv: ["/bin/sh", "-c", 'printf %s "$1" | wc -c', "sh", "x".repeat((128 << 10) - 1)] });
    expect(r.stdout.trim()).toBe(String((128 << 10) - 1)); // the largest one still runs
  });

  it("echoes at most a few hundred characters of a bad input", async () => {
    const err = await run({ argv: ["true"], env: { ["A-".repeat(100_000)]: "1" } }).catch((e) => fromConnectError(e));
    expect(err).toMatchObject({ code: "invalid_argument" });
    expect((err as Error).message.length).toBeLessThan(400);
  });

  it("kills the whole process group on timeout", async () => {
    const marker = join(dir, "child.pid");
    const t0 = Date.now();
    const r = await run({ shellCommand: `sleep 30 & echo $! > ${marker}; sleep 30`, timeoutMs: 300n });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.exited.timedOut).toBe(true);
    expect(r.exited.signal).toBe("SIGKILL");
    const pid = Number(readFileSync(marker, "utf8"));
    expect(await exitedOrZombie(pid)).toBe(true); // the background child died too
  });

  it("streams large output in order with a bounded buffer", async () => {
    const r = await run({ shellCommand: "head -c 5000000 /dev/zero | tr '\\0' a" });
    expect(r.stdout.length).toBe(5_000_000);
    expect(r.exited.exitCode).toBe(0);
  });

  it("finishes when a background child keeps the pipes open", async () => {
    const t0 = Date.now();
    const r = await run({ shellCommand: "sleep 5 & echo done" });
    expect(r.stdout).toBe("done\n");
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
