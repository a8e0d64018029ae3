/** The guest sources, in-process against fake agents behind Connect's router transport: what passes the guard, and what does not. */
import { describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { ProcessEventSchema, ProcessService, StartResponseSchema } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { AgentProtocolError } from "../agent-link/exec-event-guard.js";
import { agentExecSource, processStartSource, type GuestExecSource } from "./guest-sources.js";

const command = { argv: ["prog"], shellCommand: "", cwd: "", env: {}, stdin: new Uint8Array() };

type Ev = MessageInitShape<typeof ProcessEventSchema>["event"];
const ev = (e: Ev) => create(StartResponseSchema, { event: create(ProcessEventSchema, { event: e }) });
const started = ev({ case: "started", value: { processId: 3n, pid: 10 } });
const out = (data: string, offset: bigint, stream = OutputStream.STDOUT) => ev({ case: "output", value: { stream, data: Buffer.from(data), offset } });
const exited = ev({ case: "exited", value: { exitCode: 0, durationMs: 1n } });

function processSource(start: ServiceImpl<typeof ProcessService>["start"], seen?: { killOnDisconnect?: boolean }): GuestExecSource {
  const transport = createRouterTransport(({ service }) =>
    service(ProcessService, {
      async *start(req, ctx) {
        if (seen) seen.killOnDisconnect = req.killOnDisconnect;
        yield* start(req, ctx);
      },
    }),
  );
  return processStartSource(createClient(ProcessService, transport));
}

/** The events with output data as text, or the guard's reason for refusing the stream. */
async function drain(source: GuestExecSource): Promise<unknown[] | string> {
  const events: unknown[] = [];
  try {
    for await (const e of source(command, { timeoutMs: 1000, signal: new AbortController().signal })) events.push(e.case === "output" ? { ...e, data: Buffer.from(e.data).toString() } : e);
    return events;
  } catch (err) {
    if (err instanceof AgentProtocolError) return err.reason;
    throw err;
  }
}

describe("processStartSource", () => {
  it("passes an honest Start stream, field by field, and asks the guest to kill the command if the call ends early", async () => {
    const seen: { killOnDisconnect?: boolean } = {};
    const events = await drain(
      processSource(async function* () {
        yield started;
        yield out("ab", 0n);
        yield out("e", 0n, OutputStream.STDERR);
        yield out("cd", 2n);
        yield exited;
      }, seen),
    );
    expect(events).toEqual([
      { case: "started", pid: 10, processId: 3n },
      { case: "output", stream: "stdout", data: "ab" },
      { case: "output", stream: "stderr", data: "e" },
      { case: "output", stream: "stdout", data: "cd" },
      { case: "exited", exitCode: 0, signal: "", durationMs: 1, timedOut: false },
    ]);
    expect(seen.killOnDisconnect).toBe(true);
  });

  it("refuses output that does not start where the stream's last chunk ended (lost or repeated bytes)", async () => {
    const gap = await drain(
      processSource(async function* () {
        yield started;
        yield out("ab", 0n);
        yield out("cd", 5n);
      }),
    );
    expect(gap).toMatch(/does not start where the last one ended/);
    const repeat = await drain(
      processSource(async function* () {
        yield started;
        yield out("ab", 0n);
        yield out("b", 1n);
      }),
    );
    expect(repeat).toMatch(/does not start where/);
  });

  it("refuses an impossible process id, a missing event and a stream without an exit", async () => {
    expect(await drain(processSource(async function* () { yield ev({ case: "started", value: { processId: 0n, pid: 10 } }); }))).toMatch(/process id/);
    expect(await drain(processSource(async function* () { yield create(StartResponseSchema, {}); }))).toMatch(/no known kind/);
    expect(await drain(processSource(async function* () { yield started; }))).toMatch(/without an exit status/);
  });
});

describe("agentExecSource", () => {
  it("passes an honest Exec stream and refuses one out of order", async () => {
    const source = (exec: ServiceImpl<typeof AgentService>["exec"]) =>
      agentExecSource(createClient(AgentService, createRouterTransport(({ service }) => service(AgentService, { exec }))));
    const honest = await drain(
      source(async function* () {
        yield { event: { case: "started", value: { pid: 5 } } };
        yield { event: { case: "output", value: { stream: OutputStream.STDOUT, data: Buffer.from("hi") } } };
        yield { event: { case: "exited", value: { exitCode: 1, durationMs: 2n } } };
      }),
    );
    expect(honest).toEqual([
      { case: "started", pid: 5 },
      { case: "output", stream: "stdout", data: "hi" },
      { case: "exited", exitCode: 1, signal: "", durationMs: 2, timedOut: false },
    ]);
    const outOfOrder = await drain(
      source(async function* () {
        yield { event: { case: "output", value: { stream: OutputStream.STDOUT, data: Buffer.from("hi") } } };
      }),
    );
    expect(outOfOrder).toMatch(/before started/);
  });
});
