/**
 * Making a sandbox that cannot lose its files: its directory carries a record of whose it is
 * (sandbox-record.ts) and it holds a lease on the environment copy it starts from
 * (environments/copy-users.ts), taken before the backend reads the copy and released once the
 * sandbox is destroyed.
 *
 * What the lease follows: a one-shot sandbox's, the manager while it starts and then the
 * sandbox's own process, so it follows the sandbox's life, not the manager's. A durable
 * sandbox's, its record, from the start: its writable layer refers to the copy for as long as
 * its files exist, running or stopped, whichever manager holds it.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { PyroError } from "../../sdk/src/errors.js";
import type { Backend, Sandbox, SandboxSpec } from "./backends/backend.js";
import type { Resources } from "./backends/resources.js";
import type { EnvironmentLease, EnvironmentStore, InstalledEnvironment } from "./environments/store.js";
import type { Logger } from "./logger.js";
import { self } from "./process-identity.js";
import { createSandboxDir, newSandboxRecord, RECORD_FILE } from "./sandbox-record.js";

/** The environment copy was removed between being found and being leased: find the current one again. */
export class CopyGone extends Error {
  constructor(readonly path: string) {
    super(`the environment copy ${path} was removed before a sandbox could use it`);
  }
}

/** How many times a sandbox tries to lease the current copy before it gives up (each try finds it replaced). */
export const COPY_ATTEMPTS = 3;

/** The error once every attempt found the copy replaced or removed. */
export function copyKeptGoing(environment: string): PyroError {
  return new PyroError("sandbox_start_failed", `the environment "${environment}" was replaced or removed each time a sandbox was about to use it`, {
    hint: "something keeps pruning or rebuilding it (another pyro manager?); try again",
  });
}

/** The installed, sound copy of `environment`, or undefined when there is none (a corrupt copy is left to its users; ensure() builds a new one beside it). */
export async function installedCopy(store: EnvironmentStore, environment: string): Promise<InstalledEnvironment | undefined> {
  return store.get(environment).catch((err: unknown) => {
    if (err instanceof PyroError && err.code === "environment_corrupt") return undefined;
    throw err;
  });
}

export interface LeasedSandboxOptions {
  backend: Backend;
  store: EnvironmentStore;
  /** `<state>`: sandboxes live in `<state>/sandboxes/<id>`. */
  stateDir: string;
  log: Logger;
  /** Catalog name of the environment. */
  environment: string;
  /** The copy to start from; none for backends that run on the host's own files. */
  copy?: InstalledEnvironment;
  network: boolean;
  resources: Resources;
  /** Kept across stops and manager restarts (see SandboxSpec.durable). */
  durable?: boolean;
}

function newSandboxId(): string {
  return `sb-${randomBytes(5).toString("hex")}`;
}

/**
 * Creates a sandbox through `o.backend` whose destroy() also ends its lease. Throws CopyGone
 * when `o.copy` is being removed or is gone.
 */
export async function createLeasedSandbox(o: LeasedSandboxOptions, signal?: AbortSignal): Promise<Sandbox> {
  const id = newSandboxId();
  const dir = join(o.stateDir, "sandboxes", id);
  const durable = o.durable ?? false;
  const spec: SandboxSpec = {
    id,
    dir,
    environment: { name: o.environment, rootfs: o.copy?.rootfs ?? "", ...(o.copy ? { copy: o.copy.dir } : {}) },
    network: o.network,
    resources: o.resources,
    durable,
  };
  // The record first: a crash from here on leaves a directory a later manager knows is pyro's.
  await createSandboxDir(await newSandboxRecord(spec, o.backend.name));
  let lease: EnvironmentLease | undefined;
  try {
    if (o.copy) {
      lease = await o.store.lease(o.copy, id, durable ? { record: join(dir, RECORD_FILE) } : await self());
      if (!lease) throw new CopyGone(o.copy.dir);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let sandbox: Sandbox;
  try {
    sandbox = await o.backend.create(spec, signal);
  } catch (err) {
    await lease?.release();
    throw err;
  }
  if (lease && !durable) {
    const proc = sandbox.record.processes.launch;
    if (proc) await lease.holdBy(proc);
    else o.log.debug("sandbox process not known; its lease follows the manager", { sandbox: id });
  }
  return withLease(sandbox, lease);
}

/** Makes `sandbox.destroy()` end `lease` too, once the sandbox is gone. */
export function withLease(sandbox: Sandbox, lease: EnvironmentLease | undefined): Sandbox {
  if (!lease) return sandbox;
  const destroy = sandbox.destroy.bind(sandbox);
  let destroyed: Promise<void> | undefined;
  sandbox.destroy = () =>
    (destroyed ??= destroy().finally(async () => {
      await lease.release();
    }));
  return sandbox;
}
