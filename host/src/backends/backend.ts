/**
 * The one narrow interface every backend implements. A backend turns an installed
 * environment into a running sandbox whose guest agent answers gRPC; everything else
 * (exec, files, …) goes through that agent, never around it.
 *
 * A sandbox outlives the manager that made it: its record (sandbox-record.ts) names its
 * processes and how to reach its agent, so a later manager can re-adopt it (`recover`), or
 * end it and clean up after it. A durable sandbox can be stopped (its processes end, its
 * files stay) and started again on the same files.
 */
import type { Client } from "@connectrpc/connect";
import type { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import type { FileService } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import type { ProcessService } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import type { BackendName } from "../../../sdk/src/contract/backends.js";
import type { SandboxRecord } from "../sandbox-record.js";
import type { LimitBreach, LimitsInForce, Resources } from "./resources.js";

export { BACKEND_NAMES, type BackendName } from "../../../sdk/src/contract/backends.js";

/** What a backend needs, found on this host. */
export interface Probe {
  available: boolean;
  /** What was found (versions, paths), or what is missing. */
  detail: string;
  /** How to make it available; empty when it is. */
  hint: string;
}

/** How a limit is enforced by a backend (where the host allows it), or "none". */
export type LimitMechanism = "cgroup" | "disk-image" | "none";

/** Outbound network a sandbox can be given: none (loopback only), the internet only, or the host's own network. */
export type NetworkMode = "off" | "egress" | "host";

/** What a backend can do, declared up front so that callers refuse what it cannot rather than pretend. */
export interface BackendCapabilities {
  isolation: "none" | "namespaces" | "microvm";
  /** How each limit is enforced; whether it is on a given host, each sandbox's `limits` says. */
  limits: Record<keyof LimitsInForce, LimitMechanism>;
  /** stop() ends the processes and keeps the files; start() runs again on them. */
  stopStart: boolean;
  /** A later manager can re-adopt a running sandbox (`recover`). */
  recover: boolean;
  snapshot: "none";
  /** The network modes it can give: `network: false` needs "off", `true` needs "egress" or "host". */
  network: readonly NetworkMode[];
  publishPorts: false;
}

export interface SandboxSpec {
  id: string;
  /** The environment: its catalog name and, for backends that use one, its root filesystem; the copy it leases, if any (recorded, not used). */
  environment: { name: string; rootfs: string; copy?: string };
  /** Outbound network access; without it only loopback exists (where the backend can isolate). */
  network: boolean;
  /**
   * The sandbox's own host directory: missing, or holding only its first record. It holds the
   * record and the sandbox's files, and goes with destroy().
   */
  dir: string;
  /** CPU, memory, disk and process limits, enforced where the backend can. */
  resources: Resources;
  /**
   * Kept across stop/start and manager restarts (a workspace). Otherwise (a one-shot run, a
   * pooled sandbox) it ends with the manager that made it, and the next one cleans up.
   */
  durable: boolean;
}

/** running: its agent answers; stopped: no processes, files kept; gone: destroyed. */
export type SandboxState = "running" | "stopped" | "gone";

export interface Sandbox {
  readonly id: string;
  readonly backend: BackendName;
  readonly environment: string;
  readonly network: boolean;
  readonly durable: boolean;
  /** Its record, as last written. */
  readonly record: SandboxRecord;
  /** The host pid of the process whose life is the sandbox's while it runs (a one-shot lease names it); 0 when stopped. */
  readonly pid: number;
  /** The seccomp filter around the agent and its commands ("pyro-default/x86_64"); absent when none (the host backend). */
  readonly seccomp?: string;
  /** The guest agent's API: dials again after a broken connection, a restart or a recovery. */
  readonly agent: Client<typeof AgentService>;
  /** The guest agent's file API, on the same connection (use it through host/src/files/guest-files.ts). */
  readonly files: Client<typeof FileService>;
  /** The guest agent's process table, on the same connection. */
  readonly processes: Client<typeof ProcessService>;
  /** The limits it runs under, and which of them are enforced. */
  readonly limits: LimitsInForce;
  /** The limits its processes ran into so far (out of memory, disk full, process limit). */
  breaches(): Promise<LimitBreach[]>;
  /** True while it runs and is not being stopped or destroyed. */
  alive(): boolean;
  state(): SandboxState;
  /** Ends its processes and keeps its files (durable sandboxes). Safe to call when stopped. */
  stop(): Promise<void>;
  /** Runs it again on its files and waits until its agent answers (durable sandboxes). */
  start(signal?: AbortSignal): Promise<void>;
  /** Ends every process of the sandbox and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** True when the backend isolates the sandbox from the host (everything but `host`). */
  readonly isolated: boolean;
  readonly capabilities: BackendCapabilities;
  probe(): Promise<Probe>;
  create(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox>;
  /**
   * Takes over the sandbox `record` describes, made by an earlier manager: running (its agent
   * answered), or stopped when its processes are gone or broken (what was left of them is
   * ended; its files are kept). "gone" when there is nothing left to start again.
   */
  recover(record: SandboxRecord, signal?: AbortSignal): Promise<Sandbox | "gone">;
}
