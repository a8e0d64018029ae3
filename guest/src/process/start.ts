/**
 * Start: validate → spawn into the table → stream started, output, exited. The process
 * outlives this stream unless the request asks for kill_on_disconnect (the one-shot exec):
 * then a stream that ends before the exit was sent kills the whole process group.
 */
import { PyroError } from "../../../sdk/src/errors.js";
import type { StartRequest } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { follow, type FollowEvent } from "./follow.js";
import type { ManagedProcess } from "./managed-process.js";
import type { ProcessTable } from "./process-table.js";

/** The process Start made, then its events: shared by ProcessService.Start and AgentService.Exec. */
export async function startProcess(table: ProcessTable, req: StartRequest): Promise<ManagedProcess> {
  if (req.pty) throw new PyroError("invalid_argument", "pty is not supported by this agent yet", { hint: "start the process without a terminal" });
  return table.start({
    argv: req.argv,
    shellCommand: req.shellCommand,
    cwd: req.cwd,
    env: req.env,
    stdin: req.stdin,
    stdinOpen: req.stdinOpen,
    timeoutMs: Number(req.timeoutMs),
    tag: req.tag,
    bufferBytes: Number(req.outputBufferBytes),
  });
}

/** `proc`'s events from its first byte on; with `killOnDisconnect`, a stream that ends (or is aborted) before the exit kills the group. */
export async function* processEvents(proc: ManagedProcess, killOnDisconnect: boolean, signal: AbortSignal): AsyncGenerator<FollowEvent> {
  let delivered = false;
  const onAbort = () => {
    if (killOnDisconnect && !delivered) proc.kill();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const e of follow(proc, { stdout: 0, stderr: 0 }, { signal })) {
      if (e.case === "exited") delivered = true;
      yield e;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    onAbort();
  }
}
