/** Stat: resolve without following a last symlink → describe what is there, or say nothing is. */
import { create } from "@bufbuild/protobuf";
import { StatResponseSchema, type StatRequest, type StatResponse } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { fileEntry } from "./file-entry.js";
import type { WorkspaceResolver } from "./workspace-path.js";

export async function statFile(req: StatRequest, resolver: WorkspaceResolver): Promise<StatResponse> {
  const target = await resolver.resolve(req.path, { followFinal: false });
  if (!target.stat) return create(StatResponseSchema, { exists: false });
  return create(StatResponseSchema, { exists: true, entry: await fileEntry(target.rel, target.abs, target.stat) });
}
