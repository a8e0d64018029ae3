/** Generated manager messages → the SDK's public types (bigint → number, enums → names). */
import type { Environment, PullProgress } from "../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PullPhase } from "../../proto/gen/pyro/manager/v1/environment_pb.js";
import type { PruneEnvironmentsResponse } from "../../proto/gen/pyro/manager/v1/environment_service_pb.js";
import type { Limit, Limits } from "../../proto/gen/pyro/common/v1/limits_pb.js";
import type { RunStarted } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import type { DoctorResponse } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { CheckStatus } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import type {
  CheckStatusName,
  DoctorReport,
  EnvironmentInfo,
  LimitInfo,
  LimitsInfo,
  PruneResult,
  PullPhaseName,
  PullProgressInfo,
  RunStartedInfo,
} from "./types.js";

/** Names of the install phases, as every surface prints them. */
export const PULL_PHASE_NAMES: Record<PullPhase, PullPhaseName> = {
  [PullPhase.UNSPECIFIED]: "unspecified",
  [PullPhase.RESOLVE]: "resolve",
  [PullPhase.DOWNLOAD]: "download",
  [PullPhase.EXTRACT]: "extract",
  [PullPhase.INSTALL]: "install",
  [PullPhase.VERIFY]: "verify",
  [PullPhase.DONE]: "done",
};

const STATUSES: Record<CheckStatus, CheckStatusName> = {
  // A check the manager did not classify is not a pass.
  [CheckStatus.UNSPECIFIED]: "warn",
  [CheckStatus.OK]: "ok",
  [CheckStatus.WARN]: "warn",
  [CheckStatus.FAIL]: "fail",
};

export function toPullProgress(p: PullProgress): PullProgressInfo {
  return { environment: p.environment, phase: PULL_PHASE_NAMES[p.phase] ?? "unspecified", message: p.message, elapsedMs: Number(p.elapsedMs) };
}

function toLimit(l: Limit | undefined): LimitInfo {
  return { value: Number(l?.value ?? 0), enforced: l?.enforced ?? false, detail: l?.detail ?? "not reported by the manager" };
}

export function toLimits(l: Limits | undefined): LimitsInfo {
  return { vcpuCount: toLimit(l?.vcpuCount), memMib: toLimit(l?.memMib), diskMib: toLimit(l?.diskMib), pids: toLimit(l?.pids) };
}

export function toRunStarted(s: RunStarted): RunStartedInfo {
  return { sandboxId: s.sandboxId, executionMode: s.executionMode, environment: s.environment, pid: s.pid, seccomp: s.seccomp, limits: toLimits(s.limits) };
}

export function toEnvironment(e: Environment): EnvironmentInfo {
  const out: EnvironmentInfo = {
    name: e.name,
    version: e.version,
    description: e.description,
    installed: e.installed,
    packages: [...e.packages],
  };
  const m = e.manifest;
  if (m) {
    out.manifest = {
      path: m.path,
      rootfsDigest: m.rootfsDigest,
      sizeBytes: Number(m.sizeBytes),
      packageCount: m.packageCount,
      createdAt: m.createdAt,
      source: m.source,
      mirror: m.mirror,
      installedPackages: [...m.installedPackages],
    };
  }
  return out;
}

export function toPruneResult(r: PruneEnvironmentsResponse): PruneResult {
  return { removedPaths: [...r.removedPaths], freedBytes: Number(r.freedBytes), kept: r.kept.map((k) => ({ path: k.path, reason: k.reason })) };
}

export function toDoctorReport(r: DoctorResponse): DoctorReport {
  return {
    checks: r.checks.map((c) => ({ name: c.name, status: STATUSES[c.status] ?? "warn", detail: c.detail, hint: c.hint })),
    defaultBackend: r.defaultBackend,
    availableBackends: [...r.availableBackends],
    stateDir: r.stateDir,
    cacheDir: r.cacheDir,
  };
}
