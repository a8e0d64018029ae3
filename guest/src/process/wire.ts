/** The process table's events and records in their pyro.guest.v1 form. */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import {
  ProcessEventSchema,
  ProcessInfoSchema,
  type ProcessEvent,
  type ProcessExitedSchema,
  type ProcessInfo,
} from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import type { FollowEvent } from "./follow.js";
import type { ExitStatus, ManagedProcess } from "./managed-process.js";

export function exitedMessage(exit: ExitStatus): MessageInitShape<typeof ProcessExitedSchema> {
  return { exitCode: exit.exitCode, signal: exit.signal, durationMs: BigInt(exit.durationMs), timedOut: exit.timedOut };
}

/** The first event of a stream about `proc`. */
export function startedEvent(proc: ManagedProcess): ProcessEvent {
  return create(ProcessEventSchema, { event: { case: "started", value: { processId: BigInt(proc.id), pid: proc.pid } } });
}

export function followEvent(e: FollowEvent): ProcessEvent {
  if (e.case === "exited") return create(ProcessEventSchema, { event: { case: "exited", value: exitedMessage(e.exit) } });
  const stream = e.stream === "stdout" ? OutputStream.STDOUT : OutputStream.STDERR;
  return create(ProcessEventSchema, { event: { case: "output", value: { stream, data: e.data, offset: BigInt(e.offset) } } });
}

export function processInfo(p: ManagedProcess): ProcessInfo {
  const window = (s: "stdout" | "stderr") => ({ oldestOffset: BigInt(p.rings[s].oldest), endOffset: BigInt(p.rings[s].end) });
  const exit = p.exit;
  return create(ProcessInfoSchema, {
    processId: BigInt(p.id),
    pid: p.pid,
    tag: p.tag,
    argv: [...p.argv],
    exited: exit && exitedMessage(exit),
    stdout: window("stdout"),
    stderr: window("stderr"),
    stdinOpen: p.stdinOpen,
  });
}
