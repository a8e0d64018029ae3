/**
 * Where the pipeline's events come from: a call to the sandbox's agent that runs one
 * command and streams its events, each passed through the guard (exec-event-guard.ts) and
 * copied field by field into a GuestEvent, so nothing else the agent put in a message
 * travels on. Two calls do that: AgentService.Exec (every agent has it) and
 * ProcessService.Start (agents with the process table, "process.v1").
 */
import type { Client } from "@connectrpc/connect";
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import type { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import type { ProcessService } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { ExecEventGuard } from "../agent-link/exec-event-guard.js";
import type { ExecCommand, GuestEvent } from "./types.js";

export interface GuestCallOptions {
  /** The guest kills the process group after this many milliseconds; 0 means never. */
  timeoutMs: number;
  /** Ends the call (the guest then kills the command). */
  signal: AbortSignal;
}

/** Runs `command` in the guest and yields its checked events; throws what the call throws, or an AgentProtocolError. */
export type GuestExecSource = (command: ExecCommand, o: GuestCallOptions) => AsyncIterable<GuestEvent>;

const streamName = (s: OutputStream) => (s === OutputStream.STDERR ? "stderr" : "stdout");

/** The one-shot AgentService.Exec. */
export function agentExecSource(agent: Client<typeof AgentService>): GuestExecSource {
  return async function* (c, o) {
    const guard = new ExecEventGuard();
    const stream = agent.exec({ argv: c.argv, shellCommand: c.shellCommand, cwd: c.cwd, env: c.env, stdin: c.stdin, timeoutMs: BigInt(o.timeoutMs) }, { signal: o.signal });
    for await (const res of stream) {
      const e = guard.check(res);
      if (e.case === "started") yield { case: "started", pid: e.value.pid };
      else if (e.case === "output") yield { case: "output", stream: streamName(e.value.stream), data: e.value.data };
      else {
        const x = e.value;
        yield { case: "exited", exitCode: x.exitCode, signal: x.signal, durationMs: Number(x.durationMs), timedOut: x.timedOut };
        return; // nothing after the exit status is read, let alone used
      }
    }
    guard.end();
  };
}

export interface ProcessStartOptions {
  /** Kill the process group when the call ends before the command did (default: true, as a one-shot exec). */
  killOnDisconnect?: boolean;
  /** A label for the guest's process list. */
  tag?: string;
}

/** ProcessService.Start: the command gets an id in the guest's process table. */
export function processStartSource(processes: Client<typeof ProcessService>, opts: ProcessStartOptions = {}): GuestExecSource {
  return async function* (c, o) {
    const guard = new ExecEventGuard();
    const stream = processes.start(
      { argv: c.argv, shellCommand: c.shellCommand, cwd: c.cwd, env: c.env, stdin: c.stdin, timeoutMs: BigInt(o.timeoutMs), killOnDisconnect: opts.killOnDisconnect ?? true, tag: opts.tag ?? "" },
      { signal: o.signal },
    );
    for await (const res of stream) {
      const e = guard.checkProcessEvent(res.event);
      if (e.case === "started") yield { case: "started", pid: e.value.pid, processId: e.value.processId };
      else if (e.case === "output") yield { case: "output", stream: streamName(e.value.stream), data: e.value.data };
      else {
        const x = e.value;
        yield { case: "exited", exitCode: x.exitCode, signal: x.signal, durationMs: Number(x.durationMs), timedOut: x.timedOut };
        return;
      }
    }
    guard.end();
  };
}
