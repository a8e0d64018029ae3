/** SendInput: find the process → write to its standard input (once the pipe took it) → close it when asked. */
import { create } from "@bufbuild/protobuf";
import { SendInputResponseSchema, type SendInputRequest, type SendInputResponse } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import type { ProcessTable } from "./process-table.js";

export async function sendInput(table: ProcessTable, req: SendInputRequest, signal: AbortSignal): Promise<SendInputResponse> {
  await table.get(req.processId).write(req.data, req.close, signal);
  return create(SendInputResponseSchema, {});
}
