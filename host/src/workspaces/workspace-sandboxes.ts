/**
 * Making and finding the sandboxes workspaces run in: the backend chosen as for a run, the
 * environment installed when missing (with progress), and a durable sandbox leased on its
 * environment copy — one that outlives the manager, keeps its files when stopped, and is
 * re-adopted after a restart.
 */
import type { Backend, Sandbox } from "../backends/backend.js";
import type { BackendRegistry } from "../backends/registry.js";
import { PIDS_MAX } from "../backends/resources.js";
import type { EnsureProgress, EnvironmentStore, InstalledEnvironment } from "../environments/store.js";
import { COPY_ATTEMPTS, CopyGone, copyKeptGoing, createLeasedSandbox, installedCopy } from "../leased-sandbox.js";
import type { Logger } from "../logger.js";

/** What a workspace's sandbox is made from. */
export interface WorkspaceSandboxSpec {
  environment: string;
  /** Backend name; empty means the manager's default (automatic). */
  backend: string;
  allowHostCompat: boolean;
  network: boolean;
  resources: { vcpuCount: number; memMib: number; diskMib: number };
}

/** A sandbox a workspace runs in: one that can stop, start again on the same files, and be re-adopted. */
export type WorkspaceSandbox = Sandbox;

export interface WorkspaceSandboxesOptions {
  stateDir: string;
  store: EnvironmentStore;
  backends: BackendRegistry;
  defaultBackend: string;
  log: Logger;
}

export class WorkspaceSandboxes {
  constructor(private readonly o: WorkspaceSandboxesOptions) {}

  /** The backend a spec asks for (refusing the host backend unless allowed). */
  backend(spec: Pick<WorkspaceSandboxSpec, "backend" | "allowHostCompat">): Promise<Backend> {
    return this.o.backends.select(spec.backend || this.o.defaultBackend, spec.allowHostCompat);
  }

  /** A new, started, durable sandbox for `spec`; installs the environment first when missing. */
  async create(spec: WorkspaceSandboxSpec, signal: AbortSignal, onProgress?: (p: EnsureProgress) => void): Promise<WorkspaceSandbox> {
    const backend = await this.backend(spec);
    const resources = { ...spec.resources, pidsMax: PIDS_MAX };
    for (let attempt = 1; ; attempt++) {
      let copy: InstalledEnvironment | undefined;
      if (backend.isolated) {
        copy = await installedCopy(this.o.store, spec.environment);
        copy ??= await this.o.store.ensure(spec.environment, { signal, onProgress });
      }
      try {
        return await createLeasedSandbox(
          { backend, store: this.o.store, stateDir: this.o.stateDir, log: this.o.log, environment: spec.environment, copy, network: spec.network, resources, durable: true },
          signal,
        );
      } catch (err) {
        if (!(err instanceof CopyGone)) throw err;
        if (attempt >= COPY_ATTEMPTS) throw copyKeptGoing(spec.environment);
        this.o.log.info("environment copy went away before use; resolving it again", { environment: spec.environment, path: err.path });
      }
    }
  }
}
