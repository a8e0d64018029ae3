/** GetInfo: the agent's version and capabilities, so the host refuses only what this agent lacks. */
import { create } from "@bufbuild/protobuf";
import { GetInfoResponseSchema, type GetInfoResponse } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { VERSION } from "../../sdk/src/version.js";

/** Capability names; fields and capabilities are only ever added. */
export const CAPABILITIES = ["exec.v1", "exec.stdin.v1", "exec.timeout.v1", "process.v1", "files.v1", "files.archive.v1"] as const;

export function getInfo(workspaceDir: string): GetInfoResponse {
  return create(GetInfoResponseSchema, {
    version: VERSION,
    capabilities: [...CAPABILITIES],
    pid: process.pid,
    workspaceDir,
  });
}
