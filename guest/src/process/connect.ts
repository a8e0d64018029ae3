/** Connect: find the process → replay what its rings keep from the given offsets → follow live output and the exit. */
import type { ConnectRequest } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { follow, type FollowEvent } from "./follow.js";
import type { ManagedProcess } from "./managed-process.js";
import type { ProcessTable } from "./process-table.js";

/** The process a Connect names (found before the stream begins, so an unknown id fails the call). */
export function findProcess(table: ProcessTable, req: ConnectRequest): ManagedProcess {
  return table.get(req.processId);
}

export function connectEvents(proc: ManagedProcess, req: ConnectRequest, signal: AbortSignal): AsyncGenerator<FollowEvent> {
  // Offsets past 2^53 are past any stream's end: read from where it is.
  const at = (n: bigint) => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
  return follow(proc, { stdout: at(req.stdoutOffset), stderr: at(req.stderrOffset) }, { signal, replayOnly: req.replayOnly });
}
