/** Environment-install progress from the store, as the pyro.manager.v1 PullProgress message. */
import { create } from "@bufbuild/protobuf";
import { PullProgressSchema, type PullProgress } from "../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PULL_PHASE_NAMES } from "../../sdk/src/convert.js";
import type { EnsureProgress } from "./environments/store.js";

export function pullProgress(p: EnsureProgress): PullProgress {
  return create(PullProgressSchema, {
    environment: p.environment,
    phase: p.phase,
    message: p.message || PULL_PHASE_NAMES[p.phase],
    elapsedMs: BigInt(Math.round(p.elapsedMs)),
  });
}
