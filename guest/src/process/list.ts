/** List: every process in the table, running and recently ended, oldest first. */
import { create } from "@bufbuild/protobuf";
import { ListResponseSchema, type ListResponse } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import type { ProcessTable } from "./process-table.js";
import { processInfo } from "./wire.js";

export function listProcesses(table: ProcessTable): ListResponse {
  return create(ListResponseSchema, { processes: table.list().map(processInfo) });
}
