/** Human text for an environment-install progress event. */
import { PullPhase } from "../../proto/gen/pyro/manager/v1/environment_pb.js";

export const PHASE_NAMES: Record<PullPhase, string> = {
  [PullPhase.UNSPECIFIED]: "unspecified",
  [PullPhase.RESOLVE]: "resolve",
  [PullPhase.DOWNLOAD]: "download",
  [PullPhase.EXTRACT]: "extract",
  [PullPhase.INSTALL]: "install",
  [PullPhase.VERIFY]: "verify",
  [PullPhase.DONE]: "done",
};

export function progressMessage(p: { phase: PullPhase; message: string }): string {
  return p.message || PHASE_NAMES[p.phase];
}
