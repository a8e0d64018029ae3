/**
 * The one narrow interface every backend implements. A backend turns an installed
 * environment into a running sandbox whose guest agent answers gRPC; everything else
 * (exec, files, …) goes through that agent, never around it.
 */
import type { Client } from "@connectrpc/connect";
import type { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import type { BackendName } from "../../../sdk/src/contract/backends.js";
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

export interface SandboxSpec {
  id: string;
  /** The environment: its catalog name and, for backends that use one, its root filesystem. */
  environment: { name: string; rootfs: string };
  /** Outbound network access; without it only loopback exists (where the backend can isolate). */
  network: boolean;
  /** A fresh, empty host directory the sandbox owns and that is removed after it. */
  dir: string;
  /** CPU, memory, disk and process limits, enforced where the backend can. */
  resources: Resources;
}

export interface Sandbox {
  readonly id: string;
  readonly backend: BackendName;
  readonly environment: string;
  readonly network: boolean;
  /** The host pid of the process whose life is the sandbox's (its lease on its environment names it). */
  readonly pid: number;
  /** The seccomp filter around the agent and its commands ("pyro-default/x86_64"); absent when none (the host backend). */
  readonly seccomp?: string;
  /** The guest agent's API. */
  readonly agent: Client<typeof AgentService>;
  /** The limits it runs under, and which of them are enforced. */
  readonly limits: LimitsInForce;
  /** The limits its processes ran into so far (out of memory, disk full, process limit). */
  breaches(): Promise<LimitBreach[]>;
  /** False once the sandbox's processes have gone. */
  alive(): boolean;
  /** Kills every process of the sandbox and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** True when the backend isolates the sandbox from the host (everything but `host`). */
  readonly isolated: boolean;
  probe(): Promise<Probe>;
  create(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox>;
}
