/**
 * AgentService.Exec, the one-shot command of agents before the process table: a Start that
 * kills the process group when its stream ends early, its events in ExecResponse form.
 * Kept for hosts that have not moved to ProcessService yet.
 */
import { create } from "@bufbuild/protobuf";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import { ExecResponseSchema, type ExecRequest, type ExecResponse } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { StartRequestSchema } from "../../proto/gen/pyro/guest/v1/process_service_pb.js";
import type { ProcessTable } from "./process/process-table.js";
import { processEvents, startProcess } from "./process/start.js";

export { BASE_ENV } from "./process/command.js";

export async function* exec(req: ExecRequest, signal: AbortSignal, table: ProcessTable): AsyncGenerator<ExecResponse> {
  const proc = await startProcess(
    table,
    create(StartRequestSchema, {
      argv: req.argv,
      shellCommand: req.shellCommand,
      cwd: req.cwd,
      env: req.env,
      stdin: req.stdin,
      timeoutMs: req.timeoutMs,
      killOnDisconnect: true,
    }),
  );
  yield create(ExecResponseSchema, { event: { case: "started", value: { pid: proc.pid } } });
  for await (const e of processEvents(proc, true, signal)) {
    if (e.case === "output") {
      const stream = e.stream === "stdout" ? OutputStream.STDOUT : OutputStream.STDERR;
      yield create(ExecResponseSchema, { event: { case: "output", value: { stream, data: e.data } } });
    } else {
      const x = e.exit;
      yield create(ExecResponseSchema, {
        event: { case: "exited", value: { exitCode: x.exitCode, signal: x.signal, durationMs: BigInt(x.durationMs), timedOut: x.timedOut } },
      });
    }
  }
}
