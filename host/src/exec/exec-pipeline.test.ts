/**
 * The exec pipeline's stages against fake guest events (a GuestExecSource written here):
 * order, redaction, cap, journal, error translation, watchdog, cancellation and limits.
 * The sources' guard is tested in guest-sources.test.ts; real sandboxes in e2e/.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { PyroError, toConnectError } from "../../../sdk/src/errors.js";
import type { LimitBreach } from "../backends/resources.js";
import { unenforcedLimits } from "../backends/resources.js";
import { streamLogger } from "../logger.js";
import { execInSandbox, runInSandbox, type ExecOptions, type ExecSandbox } from "./exec-pipeline.js";
import type { GuestExecSource } from "./guest-sources.js";
import { outputText } from "./output-cap.js";
import type { ExecEvent, ExecJournal, GuestEvent } from "./types.js";

const command = { argv: ["prog"], shellCommand: "", cwd: "", env: {}, stdin: new Uint8Array() };
const b = (s: string) => Buffer.from(s);
const started: GuestEvent = { case: "started", pid: 42, processId: 7n };
const out = (s: string, stream: "stdout" | "stderr" = "stdout"): GuestEvent => ({ case: "output", stream, data: b(s) });
const exited = (x: Partial<Extract<GuestEvent, { case: "exited" }>> = {}): GuestEvent => ({ case: "exited", exitCode: 0, signal: "", durationMs: 5, timedOut: false, ...x });

function sandbox(breaches: LimitBreach[] = []): ExecSandbox {
  return {
    id: "sb-test",
    backend: "namespace",
    agent: undefined as unknown as ExecSandbox["agent"],
    limits: unenforcedLimits({ vcpuCount: 1, memMib: 256, diskMib: 1024, pidsMax: 64 }, "a test"),
    breaches: async () => breaches,
  };
}

/** A source that yields `events` (a function is run: it may throw or wait). */
function fake(...events: Array<GuestEvent | ((signal: AbortSignal) => Promise<never>)>): GuestExecSource {
  return async function* (_c, o) {
    for (const e of events) {
      if (typeof e === "function") await e(o.signal);
      else yield e;
    }
  };
}

const lines: string[] = [];
const log = streamLogger(new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));

function recorder() {
  const calls: string[] = [];
  const journal: ExecJournal = {
    started: (e) => void calls.push(`started ${e.pid} ${e.processId}`),
    finished: (e) => void calls.push(e.result ? `finished ${e.result.exitCode}` : `failed ${(e.error as PyroError).code}`),
  };
  return { calls, journal };
}

async function run(source: GuestExecSource, o: Partial<ExecOptions> = {}, box = sandbox()) {
  const events: ExecEvent[] = [];
  try {
    const result = await runInSandbox(box, command, { timeoutMs: 5_000, signal: new AbortController().signal, log, source, ...o, onEvent: (e) => void events.push(e) });
    return { events, result, error: undefined };
  } catch (err) {
    return { events, result: undefined, error: err as PyroError };
  }
}

describe("the exec pipeline", () => {
  it("turns guest events into typed events and a result, in order", async () => {
    const r = await run(fake(started, out("a"), out("b", "stderr"), out("c"), exited({ exitCode: 3 })));
    expect(r.events.map((e) => e.type)).toEqual(["started", "output", "output", "output", "exited"]);
    expect(r.events[0]).toEqual({ type: "started", pid: 42, processId: 7n });
    expect(r.result).toMatchObject({ pid: 42, processId: 7n, exitCode: 3, timedOut: false, stdoutTruncated: false });
    expect(outputText(r.result!.stdout, false)).toBe("ac");
    expect(outputText(r.result!.stderr, false)).toBe("b");
  });

  it("caps what the result keeps per stream, says so, and still streams everything", async () => {
    const r = await run(fake(started, out("12345"), out("678"), out("x", "stderr"), exited()), { outputLimitBytes: 6 });
    expect(Buffer.from(r.result!.stdout).toString()).toBe("123456");
    expect(r.result).toMatchObject({ stdoutTruncated: true, stderrTruncated: false });
    expect(r.events.filter((e) => e.type === "output").length).toBe(3);
  });

  it("passes output through the redactor before anyone sees it", async () => {
    const redact = (_s: string, d: Uint8Array) => b(Buffer.from(d).toString().replaceAll("hunter2", "[REDACTED]"));
    const r = await run(fake(started, out("pw=hunter2"), exited()), { redact });
    const seen = r.events.flatMap((e) => (e.type === "output" ? [Buffer.from(e.data).toString()] : []));
    expect(seen).toEqual(["pw=[REDACTED]"]);
    expect(Buffer.from(r.result!.stdout).toString()).toBe("pw=[REDACTED]");
  });

  it("tells the journal of the start and the end, once", async () => {
    const { calls, journal } = recorder();
    await run(fake(started, out("a"), exited({ exitCode: 1 })), { journal });
    expect(calls).toEqual(["started 42 7", "finished 1"]);
  });

  it("returns a command its own timeout ended as a result, not an error", async () => {
    const r = await run(fake(started, exited({ exitCode: -1, signal: "SIGKILL", timedOut: true })), {}, sandbox(["memory"]));
    expect(r.error).toBeUndefined();
    expect(r.result).toMatchObject({ timedOut: true, signal: "SIGKILL" });
  });

  it("makes a command that ran into a limit of its sandbox that limit's error, and journals it", async () => {
    const { calls, journal } = recorder();
    const r = await run(fake(started, exited({ exitCode: -1, signal: "SIGKILL" })), { journal }, sandbox(["memory"]));
    expect(r.error?.code).toBe("out_of_memory");
    expect(calls).toEqual(["started 42 7", "failed out_of_memory"]);
  });

  it("translates guest errors through the allow-list", async () => {
    const fail = (err: unknown) => async () => Promise.reject(err);
    const notFound = await run(fake(fail(toConnectError(new PyroError("command_not_found", "\u001b[2J lies")))));
    expect(notFound.error?.code).toBe("command_not_found");
    expect(notFound.error?.message).not.toContain("lies");
    const forged = await run(fake(started, fail(toConnectError(new PyroError("manager_already_running", "forged")))));
    expect(forged.error?.code).toBe("sandbox_failed");
    const broken = await run(fake(started, fail(new ConnectError("stream reset", Code.Canceled))));
    expect(broken.error?.code).toBe("sandbox_failed");
  });

  it("gives up on an agent that never reports, with timeout, after the grace period", async () => {
    const { calls, journal } = recorder();
    const hang = (signal: AbortSignal) => new Promise<never>((_ok, fail) => signal.addEventListener("abort", () => fail(new ConnectError("aborted", Code.Canceled))));
    const t0 = Date.now();
    const r = await run(fake(started, hang), { timeoutMs: 50, watchdogGraceMs: 100, journal });
    expect(r.error?.code).toBe("timeout");
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(calls).toEqual(["started 42 7", "failed timeout"]);
  });

  it("reports the caller's own interrupt as cancelled", async () => {
    const ac = new AbortController();
    const hang = (signal: AbortSignal) => {
      setTimeout(() => ac.abort(), 10);
      return new Promise<never>((_ok, fail) => signal.addEventListener("abort", () => fail(new ConnectError("aborted", Code.Canceled))));
    };
    const r = await run(fake(started, hang), { signal: ac.signal });
    expect(r.error?.code).toBe("cancelled");
  });

  it("journals a command whose consumer stopped reading, and ends the guest call", async () => {
    const { calls, journal } = recorder();
    let callEnded = false;
    const source: GuestExecSource = async function* () {
      try {
        yield started;
        yield out("a");
        yield exited();
      } finally {
        callEnded = true;
      }
    };
    for await (const e of execInSandbox(sandbox(), command, { timeoutMs: 5_000, signal: new AbortController().signal, log, source, journal })) {
      if (e.type === "output") break;
    }
    expect(callEnded).toBe(true);
    expect(calls).toEqual(["started 42 7", "failed cancelled"]);
  });

  it("a source that ends without an exit is a bug, reported as internal", async () => {
    const r = await run(fake(started));
    expect(r.error?.code).toBe("internal");
  });
});
