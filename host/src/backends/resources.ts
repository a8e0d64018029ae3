/**
 * A sandbox's resources, as asked for, and the limits in force: what each backend
 * enforces on this host, and what it only records (with the reason). Domain types; the
 * wire form is `pyro.common.v1.Limits`.
 */
import { PyroError } from "../../../sdk/src/errors.js";

export interface Resources {
  vcpuCount: number;
  memMib: number;
  /** Size of the sandbox's writable filesystem. */
  diskMib: number;
  /** Processes and threads the sandbox may have at once. */
  pidsMax: number;
}

/** The process limit of every sandbox: far above what builds need, far below a host's pid_max. */
export const PIDS_MAX = 1024;

export interface LimitState {
  value: number;
  enforced: boolean;
  /** How it is enforced, or why it is not. */
  detail: string;
}

export interface LimitsInForce {
  vcpuCount: LimitState;
  memMib: LimitState;
  diskMib: LimitState;
  pids: LimitState;
}

/** A limit a command ran into. */
export type LimitBreach = "memory" | "disk" | "pids";

/** Limits recorded but enforced by nothing, each with the same reason. */
export function unenforcedLimits(r: Resources, reason: string): LimitsInForce {
  const off = (value: number): LimitState => ({ value, enforced: false, detail: reason });
  return { vcpuCount: off(r.vcpuCount), memMib: off(r.memMib), diskMib: off(r.diskMib), pids: off(r.pidsMax) };
}

/**
 * The error for a command that failed at a limit of its sandbox, or undefined. A command
 * that succeeded is a success even if one of its processes ran into a limit on the way.
 */
export async function breachError(
  sandbox: { id: string; backend: string; limits: LimitsInForce; breaches(): Promise<LimitBreach[]> },
  exited: { exitCode: number; signal: string },
): Promise<PyroError | undefined> {
  if (exited.exitCode === 0 && exited.signal === "") return undefined;
  const found = await sandbox.breaches();
  const data = { execution_mode: sandbox.backend, sandbox_id: sandbox.id, exit_code: exited.exitCode, signal: exited.signal };
  const l = sandbox.limits;
  if (found.includes("memory")) {
    return new PyroError("out_of_memory", `the command ran out of memory: the sandbox may use ${l.memMib.value} MiB (${l.memMib.detail}), and the kernel ended a process that needed more`, { data });
  }
  if (found.includes("disk")) {
    return new PyroError("disk_full", `the sandbox's disk is full: its writable filesystem holds ${l.diskMib.value} MiB (${l.diskMib.detail})`, { data });
  }
  if (found.includes("pids")) {
    return new PyroError("too_many_processes", `the command hit the sandbox's process limit of ${l.pids.value} processes and threads (${l.pids.detail})`, { data });
  }
  return undefined;
}
