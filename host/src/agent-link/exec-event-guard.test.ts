import { describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ExecResponseSchema } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
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
});
