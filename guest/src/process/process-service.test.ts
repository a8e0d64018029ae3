/**
 * ProcessService against real processes, over a real socket (the same in real sandboxes:
 * e2e/process-table.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Http2Server } from "node:http2";
import { createClient, type Client } from "@connectrpc/connect";
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import { ProcessService, ProcessSignal, type ProcessEvent } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { fromConnectError } from "../../../sdk/src/errors.js";
import { unixTransport, type UnixTransport } from "../../../sdk/src/transport.js";
import { exitedOrZombie } from "../../../e2e/processes.js";
import { serveAgent } from "../server.js";
import { BASE_ENV } from "./command.js";
import { ProcessTable } from "./process-table.js";

let dir: string;
let server: Http2Server;
let conn: UnixTransport;
let procs: Client<typeof ProcessService>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pyro-process-test-"));
  const table = new ProcessTable({ workspaceDir: dir, baseEnv: BASE_ENV, maxEnded: 3, drainGraceMs: 100 });
  server = await serveAgent({ socketPath: join(dir, "agent.sock") }, table);
  conn = unixTransport(join(dir, "agent.sock"));
  procs = createClient(ProcessService, conn.transport);
});
afterAll(() => {
  conn.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects a stream's events: the process id, the output per stream (with offsets checked to be contiguous) and the exit. */
async function collect(stream: AsyncIterable<{ event?: ProcessEvent }>, from = { stdout: 0, stderr: 0 }) {
  let id = 0n;
  const text = { stdout: "", stderr: "" };
  const at = { ...from };
  let exited: Extract<ProcessEvent["event"], { case: "exited" }>["value"] | undefined;
  for await (const res of stream) {
    const e = res.event!.event;
    if (e.case === "started") id = e.value.processId;
    if (e.case === "output") {
      const s = e.value.stream === OutputStream.STDOUT ? "stdout" : "stderr";
      expect(Number(e.value.offset)).toBe(at[s]);
      at[s] += e.value.data.length;
      text[s] += Buffer.from(e.value.data).toString();
    }
    if (e.case === "exited") exited = e.value;
  }
  return { id, ...text, exited };
}

/** Starts a process and reads only its started event, then drops the stream. */
async function startDetached(req: Parameters<typeof procs.start>[0]): Promise<bigint> {
  const ac = new AbortController();
  const it = procs.start(req, { signal: ac.signal })[Symbol.asyncIterator]();
  const first = await it.next();
  ac.abort();
  await it.return?.();
  const e = first.value!.event!.event;
  if (e.case !== "started") throw new Error("first event is not started");
  return e.value.processId;
}

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e) => fromConnectError(e));

describe("ProcessService", () => {
  it("starts a process with an id and streams its output with offsets, then its exit", async () => {
    const r = await collect(procs.start({ shellCommand: "printf ab; printf cd >&2; printf ef; exit 3" }));
    expect(r.id).toBeGreaterThan(0n);
    expect(r).toMatchObject({ stdout: "abef", stderr: "cd", exited: { exitCode: 3, timedOut: false } });
  });

  it("keeps a process running when the stream that started it is dropped; Connect replays from an offset and follows to the exit", async () => {
    const id = await startDetached({ shellCommand: "echo one; sleep 0.3; echo two; echo err >&2" });
    const r = await collect(procs.connect({ processId: id, stdoutOffset: 2n }), { stdout: 2, stderr: 0 });
    expect(r).toMatchObject({ id, stdout: "e\ntwo\n", stderr: "err\n", exited: { exitCode: 0 } });
    // Once ended it stays in the table: a late Connect gets everything kept, and the exit.
    const late = await collect(procs.connect({ processId: id }));
    expect(late).toMatchObject({ stdout: "one\ntwo\n", exited: { exitCode: 0 } });
  });

  it("kills the process group when a kill_on_disconnect stream is dropped", async () => {
    const ac = new AbortController();
    let pid = 0;
    const events = procs.start({ shellCommand: "sleep 30 & sleep 30", killOnDisconnect: true }, { signal: ac.signal });
    for await (const res of events) {
      if (res.event!.event.case === "started") pid = res.event!.event.value.pid;
      break;
    }
    ac.abort();
    expect(pid).toBeGreaterThan(0);
    expect(await exitedOrZombie(pid)).toBe(true);
  });

  it("replay_only sends what is kept and ends", async () => {
    const id = await startDetached({ shellCommand: "echo ready; sleep 30", timeoutMs: 5_000n });
    await sleep(200);
    const r = await collect(procs.connect({ processId: id, replayOnly: true }));
    expect(r).toMatchObject({ id, stdout: "ready\n", exited: undefined });
    await procs.sendSignal({ processId: id, signal: ProcessSignal.KILL });
  });

  it("takes input and closes it", async () => {
    const id = await startDetached({ argv: ["cat"], stdin: Buffer.from("a"), stdinOpen: true });
    await procs.sendInput({ processId: id, data: Buffer.from("bc") });
    expect((await procs.list({})).processes.find((p) => p.processId === id)?.stdinOpen).toBe(true);
    await procs.sendInput({ processId: id, data: Buffer.from("d"), close: true });
    const r = await collect(procs.connect({ processId: id }));
    expect(r).toMatchObject({ stdout: "abcd", exited: { exitCode: 0 } });
    expect(await errorOf(procs.sendInput({ processId: id, data: Buffer.from("x") }))).toMatchObject({ code: "invalid_argument" });
  });

  it("sends a signal to the whole process group", async () => {
    const marker = join(dir, "bg.pid");
    const id = await startDetached({ shellCommand: `sleep 30 & echo $! > ${marker}; wait` });
    await sleep(200);
    expect((await procs.sendSignal({ processId: id, signal: ProcessSignal.TERM })).delivered).toBe(true);
    const r = await collect(procs.connect({ processId: id }));
    expect(r.exited).toMatchObject({ exitCode: -1, signal: "SIGTERM" });
    expect(await exitedOrZombie(Number(readFileSync(marker, "utf8")))).toBe(true);
    expect(await errorOf(procs.sendSignal({ processId: id, signal: ProcessSignal.UNSPECIFIED }))).toMatchObject({ code: "invalid_argument" });
  });

  it("kills the whole tree on timeout and says so", async () => {
    const marker = join(dir, "tree.pid");
    const r = await collect(procs.start({ shellCommand: `sh -c 'sleep 30 & echo $! > ${marker}; wait' & wait`, timeoutMs: 300n }));
    expect(r.exited).toMatchObject({ exitCode: -1, signal: "SIGKILL", timedOut: true });
    expect(await exitedOrZombie(Number(readFileSync(marker, "utf8")))).toBe(true);
  });

  it("lists running and ended processes with their output windows, and forgets the oldest ended ones past its bound", async () => {
    const running = await startDetached({ shellCommand: "printf 12345; sleep 30", tag: "svc", timeoutMs: 10_000n });
    await sleep(200);
    const info = (await procs.list({})).processes.find((p) => p.processId === running)!;
    expect(info).toMatchObject({ tag: "svc", argv: ["/bin/sh", "-c", "printf 12345; sleep 30"], stdout: { oldestOffset: 0n, endOffset: 5n } });
    expect(info.exited).toBeUndefined();
    const ended: bigint[] = [];
    for (let i = 0; i < 4; i++) ended.push((await collect(procs.start({ argv: ["true"] }))).id);
    const ids = (await procs.list({})).processes.map((p) => p.processId);
    expect(ids).toContain(running);
    expect(ids).not.toContain(ended[0]); // the table keeps 3 ended ones
    expect(ids).toContain(ended[3]);
    expect(await errorOf(collect(procs.connect({ processId: ended[0]! })))).toMatchObject({ code: "invalid_argument" });
    await procs.sendSignal({ processId: running, signal: ProcessSignal.KILL });
  });

  it("bounds the output ended processes keep in all: the oldest go first", async () => {
    const small = new ProcessTable({ workspaceDir: dir, baseEnv: BASE_ENV, maxEndedBytes: 600 << 10, drainGraceMs: 50 });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await small.start({ argv: [], shellCommand: "head -c 300000 /dev/zero", cwd: "", env: {}, stdin: new Uint8Array(), stdinOpen: false, timeoutMs: 0, tag: "", bufferBytes: 0 });
      ids.push(p.id);
      while (!p.finished) await sleep(10);
    }
    expect(small.list().map((p) => p.id)).toEqual(ids.slice(1)); // 2 × 300 kB fit, 3 do not
  });

  it("keeps the most recent output of a detached process, and a reader that came late sees the gap in the offsets", async () => {
    const id = await startDetached({ shellCommand: "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo end", outputBufferBytes: 256n << 10n });
    await sleep(300);
    let first = -1;
    let bytes = 0;
    for await (const res of procs.connect({ processId: id })) {
      const e = res.event!.event;
      if (e.case === "output") {
        if (first < 0) first = Number(e.value.offset);
        bytes += e.value.data.length;
      }
    }
    expect(first).toBe(3_000_005 - (256 << 10));
    expect(bytes).toBe(256 << 10);
  });

  it("loses nothing for an attached reader that is slower than the process", async () => {
    let bytes = 0;
    let messages = 0;
    for await (const res of procs.start({ shellCommand: "head -c 5000000 /dev/zero", outputBufferBytes: 256n << 10n })) {
      const e = res.event!.event;
      if (e.case === "output") {
        expect(Number(e.value.offset)).toBe(bytes);
        bytes += e.value.data.length;
        if (messages++ % 8 === 0) await sleep(5);
      }
    }
    expect(bytes).toBe(5_000_000);
  });

  it("refuses a pty, unknown ids, and bad commands with invalid_argument or command_not_found", async () => {
    expect(await errorOf(collect(procs.start({ argv: ["sh"], pty: true })))).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("pty") });
    expect(await errorOf(procs.sendInput({ processId: 999_999n }))).toMatchObject({ code: "invalid_argument" });
    expect(await errorOf(collect(procs.start({})))).toMatchObject({ code: "invalid_argument" });
    expect(await errorOf(collect(procs.start({ argv: ["no-such-program-xyz"] })))).toMatchObject({ code: "command_not_found" });
    expect(await errorOf(collect(procs.start({ argv: ["true"], tag: "t".repeat(129) })))).toMatchObject({ code: "invalid_argument" });
  });
});
