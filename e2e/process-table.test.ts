/**
 * The guest's process table (pyro.guest.v1.ProcessService) in a real namespace sandbox, over
 * the agent's real socket: processes outlive their stream, Connect replays and follows,
 * input, signals to the group, timeouts that kill the tree, List; and the host's exec
 * pipeline running a command through ProcessService.Start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { OutputStream } from "../proto/gen/pyro/common/v1/exec_pb.js";
import { ProcessService, ProcessSignal, type ProcessEvent } from "../proto/gen/pyro/guest/v1/process_service_pb.js";
import { fromConnectError } from "../sdk/src/errors.js";
import { AgentConnection } from "../host/src/agent-link/agent-connection.js";
import { dialUnixSocket } from "../host/src/agent-link/agent-dialer.js";
import type { Sandbox } from "../host/src/backends/backend.js";
import { NamespaceBackend } from "../host/src/backends/namespace/namespace-backend.js";
import { SANDBOX_NAMES } from "../host/src/backends/namespace/sandbox-launch.js";
import { runInSandbox } from "../host/src/exec/exec-pipeline.js";
import { processStartSource } from "../host/src/exec/guest-sources.js";
import type { ExecJournal } from "../host/src/exec/types.js";
import { silentLogger } from "../host/src/logger.js";
import { findAgentBundle, prepareAgentRuntime } from "../host/src/runtime/agent-runtime.js";
import { E2E_CACHE, testDir } from "./harness.js";

const dir = testDir("pyro-process-table-");
const backend = new NamespaceBackend({
  runtime: () => prepareAgentRuntime(E2E_CACHE, findAgentBundle(process.env)),
  log: silentLogger,
  sandboxUser: { uid: 65534, gid: 65534 },
});
const probe = await backend.probe();

let sandbox: Sandbox;
let conn: AgentConnection;
let procs: Client<typeof ProcessService>;

beforeAll(async () => {
  if (!probe.available) return;
  const version = readdirSync(join(E2E_CACHE, "environments", "debian-12")).find((v) => !v.startsWith("."))!;
  const rootfs = join(E2E_CACHE, "environments", "debian-12", version, "rootfs");
  const sandboxDir = join(dir, "sb");
  sandbox = await backend.create({
    id: "sb-0000070ab1",
    dir: sandboxDir,
    environment: { name: "debian:12", rootfs },
    network: false,
    resources: { vcpuCount: 1, memMib: 512, diskMib: 1024, pidsMax: 256 },
    durable: false,
  });
  // The socket lives where only the manager can write, so a second connection is as safe as the first.
  conn = new AgentConnection(dialUnixSocket(join(sandboxDir, SANDBOX_NAMES.agentSocket)));
  procs = createClient(ProcessService, conn.transport);
});
afterAll(async () => {
  conn?.close();
  await sandbox?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect(stream: AsyncIterable<{ event?: ProcessEvent }>) {
  let id = 0n;
  const text = { stdout: "", stderr: "" };
  let exited: Extract<ProcessEvent["event"], { case: "exited" }>["value"] | undefined;
  for await (const res of stream) {
    const e = res.event!.event;
    if (e.case === "started") id = e.value.processId;
    if (e.case === "output") text[e.value.stream === OutputStream.STDERR ? "stderr" : "stdout"] += Buffer.from(e.value.data).toString();
    if (e.case === "exited") exited = e.value;
  }
  return { id, ...text, exited };
}

/** Starts a process, reads its started event and the first output, then drops the stream. */
async function startAndDrop(req: Parameters<typeof procs.start>[0]): Promise<{ id: bigint; first: string }> {
  const ac = new AbortController();
  let id = 0n;
  let first = "";
  for await (const res of procs.start(req, { signal: ac.signal })) {
    const e = res.event!.event;
    if (e.case === "started") id = e.value.processId;
    if (e.case === "output") {
      first = Buffer.from(e.value.data).toString();
      break;
    }
  }
  ac.abort();
  return { id, first };
}

/** True when the sandbox has no live process `pid` (gone, or a zombie). */
async function goneInSandbox(pid: string): Promise<boolean> {
  const r = await collect(procs.start({ shellCommand: `test ! -e /proc/${pid} || grep -q ') Z' /proc/${pid}/stat && echo gone || echo alive` }));
  return r.stdout.trim() === "gone";
}

describe.skipIf(!probe.available)(`the guest process table in a namespace sandbox${probe.available ? "" : ` (skipped: ${probe.detail})`}`, () => {
  it("keeps a process running after its stream is dropped; Connect gets the rest of the output and the exit", async () => {
    const { id, first } = await startAndDrop({ shellCommand: "echo first; sleep 0.5; echo second; echo oops >&2; exit 4" });
    expect(id).toBeGreaterThan(0n);
    expect(first).toBe("first\n");
    const r = await collect(procs.connect({ processId: id, stdoutOffset: BigInt(first.length) }));
    expect(r).toMatchObject({ id, stdout: "second\n", stderr: "oops\n", exited: { exitCode: 4, timedOut: false } });
  });

  it("takes input on an open stdin and closes it", async () => {
    const { id, first } = await startAndDrop({ shellCommand: "echo ready; tr a-z A-Z", stdinOpen: true });
    expect(first).toBe("ready\n");
    await procs.sendInput({ processId: id, data: Buffer.from("hello ") });
    await procs.sendInput({ processId: id, data: Buffer.from("world\n"), close: true });
    const r = await collect(procs.connect({ processId: id, stdoutOffset: 6n }));
    expect(r).toMatchObject({ stdout: "HELLO WORLD\n", exited: { exitCode: 0 } });
  });

  it("sends a signal to the whole process group", async () => {
    const { id, first } = await startAndDrop({ shellCommand: "sleep 300 & echo $!; wait" });
    const bg = first.trim();
    expect((await procs.sendSignal({ processId: id, signal: ProcessSignal.TERM })).delivered).toBe(true);
    const r = await collect(procs.connect({ processId: id, stdoutOffset: BigInt(first.length) }));
    expect(r.exited).toMatchObject({ exitCode: -1, signal: "SIGTERM" });
    expect(await goneInSandbox(bg)).toBe(true);
  });

  it("kills the whole tree on timeout", async () => {
    const r = await collect(procs.start({ shellCommand: "sh -c 'sleep 300 & echo $!; wait' & wait", timeoutMs: 500n }));
    expect(r.exited).toMatchObject({ exitCode: -1, signal: "SIGKILL", timedOut: true });
    expect(await goneInSandbox(r.stdout.trim())).toBe(true);
  });

  it("lists running and ended processes with their tags and output windows", async () => {
    const { id } = await startAndDrop({ shellCommand: "echo up; sleep 300", tag: "service:web", timeoutMs: 30_000n });
    await sleep(100);
    const list = (await procs.list({})).processes;
    const web = list.find((p) => p.processId === id);
    expect(web).toMatchObject({ tag: "service:web", stdout: { oldestOffset: 0n, endOffset: 3n } });
    expect(web!.exited).toBeUndefined();
    expect(list.some((p) => p.exited !== undefined)).toBe(true);
    await procs.sendSignal({ processId: id, signal: ProcessSignal.KILL });
    const r = await collect(procs.connect({ processId: id, stdoutOffset: 3n }));
    expect(r.exited).toMatchObject({ signal: "SIGKILL" });
    const err = await procs.connect({ processId: 1n << 40n })[Symbol.asyncIterator]().next().then(() => undefined, (e) => fromConnectError(e));
    expect(err?.code).toBe("invalid_argument");
  });

  it("runs a command through the host's exec pipeline over ProcessService.Start, journaled", async () => {
    const calls: string[] = [];
    const journal: ExecJournal = { started: (e) => void calls.push(`started ${e.processId! > 0n}`), finished: (e) => void calls.push(`finished ${e.result?.exitCode}`) };
    const opts = { timeoutMs: 5_000, signal: new AbortController().signal, log: silentLogger, source: processStartSource(procs), journal };
    const r = await runInSandbox(sandbox, { argv: [], shellCommand: "head -c 3000000 /dev/zero; echo done >&2; exit 2", cwd: "", env: {}, stdin: new Uint8Array() }, opts);
    expect(r).toMatchObject({ exitCode: 2, timedOut: false, stdoutTruncated: true, stderrTruncated: false });
    expect(r.stdout.length).toBe(1 << 20);
    expect(Buffer.from(r.stderr).toString()).toBe("done\n");
    expect(calls).toEqual(["started true", "finished 2"]);
    const timedOut = await runInSandbox(sandbox, { argv: ["sleep", "300"], shellCommand: "", cwd: "", env: {}, stdin: new Uint8Array() }, { ...opts, timeoutMs: 300, journal: undefined });
    expect(timedOut).toMatchObject({ timedOut: true, signal: "SIGKILL" });
  });
});
