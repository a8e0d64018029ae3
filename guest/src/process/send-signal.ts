/** SendSignal: validate the signal → find the process → send it to the whole process group. */
import { create } from "@bufbuild/protobuf";
import {
  ProcessSignal,
  SendSignalResponseSchema,
  type SendSignalRequest,
  type SendSignalResponse,
} from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import type { ProcessTable } from "./process-table.js";

const SIGNALS: Partial<Record<ProcessSignal, NodeJS.Signals>> = {
  [ProcessSignal.INT]: "SIGINT",
  [ProcessSignal.TERM]: "SIGTERM",
  [ProcessSignal.HUP]: "SIGHUP",
  [ProcessSignal.KILL]: "SIGKILL",
};

export function sendSignal(table: ProcessTable, req: SendSignalRequest): SendSignalResponse {
  const signal = SIGNALS[req.signal];
  if (!signal) throw new PyroError("invalid_argument", "give a signal: INT, TERM, HUP or KILL");
  return create(SendSignalResponseSchema, { delivered: table.get(req.processId).signal(signal) });
}
