import { describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ExecResponseSchema } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { ProcessEventSchema } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import { AgentProtocolError, ExecEventGuard, OUTPUT_CHUNK_MAX_BYTES } from "./exec-event-guard.js";

type Ev = MessageInitShape<typeof ExecResponseSchema>["event"];
const ev = (e: Ev) => create(ExecResponseSchema, { event: e });
const started = (pid = 7) => ev({ case: "started", value: { pid } });
const output = (data: Uint8Array, stream = OutputStream.STDOUT) => ev({ case: "output", value: { stream, data } });
const exited = (v: { exitCode?: number; signal?: string; durationMs?: bigint } = {}) =>
  ev({ case: "exited", value: { exitCode: 0, signal: "", durationMs: 1n, ...v } });

/** Feeds `events` to a fresh guard; returns the violation's reason, or "ok". */
function run(...events: ReturnType<typeof ev>[]): string {
  const guard = new ExecEventGuard();
  try {
    for (const e of events) guard.check(e);
    guard.end();
    return "ok";
  } catch (err) {
    if (err instanceof AgentProtocolError) return err.reason;
    throw err;
  }
}

describe("ExecEventGuard", () => {
  it("passes what an honest agent sends", () => {
    expect(run(started(), output(Buffer.from("hi\n")), output(Buffer.from("oops"), OutputStream.STDERR), exited())).toBe("ok");
    expect(run(started(), exited({ exitCode: 255 }))).toBe("ok");
    expect(run(started(), exited({ exitCode: -1, signal: "SIGKILL" }))).toBe("ok");
    expect(run(started(), output(Buffer.alloc(OUTPUT_CHUNK_MAX_BYTES)), exited())).toBe("ok");
  });

  it("refuses events out of order", () => {
    expect(run(output(Buffer.from("x")))).toMatch(/before started/);
    expect(run(exited())).toMatch(/before started/);
    expect(run(started(), started())).toMatch(/second started/);
    expect(run(started(), exited(), output(Buffer.from("x")))).toMatch(/after the exit status/);
    expect(run(started(), exited(), exited())).toMatch(/after the exit status/);
    expect(run(ev({ case: undefined }))).toMatch(/no known kind/);
  });

  it("refuses a stream that ends without started or exited", () => {
    expect(run()).toMatch(/before the command started/);
    expect(run(started(), output(Buffer.from("x")))).toMatch(/without an exit status/);
  });

  it("refuses impossible fields", () => {
    expect(run(started(0))).toMatch(/pid/);
    expect(run(started(2 ** 31))).toMatch(/pid/);
    expect(run(started(), output(Buffer.alloc(OUTPUT_CHUNK_MAX_BYTES + 1)))).toMatch(/over/);
    expect(run(started(), output(Buffer.from("x"), OutputStream.UNSPECIFIED))).toMatch(/stream/);
    expect(run(started(), output(Buffer.from("x"), 9 as OutputStream))).toMatch(/stream/);
    expect(run(started(), exited({ exitCode: 256 }))).toMatch(/exit status/);
    expect(run(started(), exited({ exitCode: -2 }))).toMatch(/exit status/);
    expect(run(started(), exited({ exitCode: 0, signal: "SIGKILL" }))).toMatch(/exit status/);
    expect(run(started(), exited({ exitCode: -1 }))).toMatch(/exit status/);
    expect(run(started(), exited({ exitCode: -1, signal: "SIGNOPE" }))).toMatch(/unknown signal/);
    expect(run(started(), exited({ durationMs: 3_600_000n }))).toMatch(/duration/);
    expect(run(started(), exited({ durationMs: 2n ** 63n }))).toMatch(/duration/);
  });

  it("describes a forged event in a few hundred characters, not megabytes", () => {
    const guard = new ExecEventGuard();
    guard.check(started());
    const huge = "\u001b[2J" + "A".repeat(3_900_000);
    let caught: unknown;
    try {
      guard.check(exited({ exitCode: -1, signal: huge }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AgentProtocolError);
    const e = caught as AgentProtocolError;
    expect(e.reason).toBe("exited names an unknown signal");
    expect(e.message.length).toBeLessThan(200);
    expect(e.detail.length).toBeLessThan(400);
    expect(e.detail).not.toContain("\u001b");
    expect(e.detail).toContain("3899940 more characters");
  });

  it("checks the offsets of a process stream: from 0 without gaps for Start, ahead but never back for Connect", () => {
    type PEv = MessageInitShape<typeof ProcessEventSchema>["event"];
    const pev = (e: PEv) => create(ProcessEventSchema, { event: e });
    const start = pev({ case: "started", value: { processId: 1n, pid: 9 } });
    const chunk = (offset: bigint, n = 2, stream = OutputStream.STDOUT) => pev({ case: "output", value: { stream, data: Buffer.alloc(n), offset } });
    const feed = (guard: ExecEventGuard, ...events: ReturnType<typeof pev>[]) => {
      try {
        for (const e of events) guard.checkProcessEvent(e);
        return "ok";
      } catch (err) {
        return (err as AgentProtocolError).reason;
      }
    };
    expect(feed(new ExecEventGuard(), start, chunk(0n), chunk(0n, 1, OutputStream.STDERR), chunk(2n))).toBe("ok");
    expect(feed(new ExecEventGuard(), start, chunk(1n))).toMatch(/does not start where/);
    const resume = () => new ExecEventGuard({ resumeFrom: { stdout: 10n, stderr: 0n } });
    expect(feed(resume(), start, chunk(50n), chunk(52n), chunk(0n, 1, OutputStream.STDERR))).toBe("ok");
    expect(feed(resume(), start, chunk(9n))).toMatch(/does not start where/);
    expect(feed(resume(), start, chunk(50n), chunk(51n))).toMatch(/does not start where/);
    expect(feed(new ExecEventGuard(), start, start)).toMatch(/second started/);
    expect(feed(new ExecEventGuard(), pev({ case: "started", value: { processId: 0n, pid: 9 } }))).toMatch(/process id/);
  });
});
