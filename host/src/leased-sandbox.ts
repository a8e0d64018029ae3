/**
 * Making a sandbox that cannot lose its files: its directory carries a record of whose it is
 * (sandbox-record.ts) and it holds a lease on the environment copy it starts from
 * (environments/copy-users.ts), taken before the backend reads the copy and released once the
 * sandbox is destroyed. While it starts, both name this manager; once it runs, both name the
 * sandbox's own process, so they follow the sandbox's life, not the manager's.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Backend, Sandbox } from "./backends/backend.js";
import type { Resources } from "./backends/resources.js";
import type { EnvironmentLease, EnvironmentStore, InstalledEnvironment } from "./environments/store.js";
import type { Logger } from "./logger.js";
import { identify, self } from "./process-identity.js";
import { createSandboxDir, writeSandboxRecord, type SandboxRecord } from "./sandbox-record.js";

/** The environment copy was removed between being found and being leased: find the current one again. */
export class CopyGone extends Error {
  constructor(readonly path: string) {
    super(`the environment copy ${path} was removed before a sandbox could use it`);
  }
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
  const manager = await self();
  const record: SandboxRecord = { format: "pyro.sandbox/1", id, manager };
  await createSandboxDir(dir, record);
  let lease: EnvironmentLease | undefined;
  try {
    if (o.copy) {
      lease = await o.store.lease(o.copy, id, manager);
      if (!lease) throw new CopyGone(o.copy.dir);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let sandbox: Sandbox;
  try {
    sandbox = await o.backend.create({ id, dir, environment: { name: o.environment, rootfs: o.copy?.rootfs ?? "" }, network: o.network, resources: o.resources }, signal);
  } catch (err) {
    await lease?.release();
    throw err;
  }
  const proc = await identify(sandbox.pid).catch(() => undefined);
  if (proc) {
    await lease?.holdBy(proc);
    await writeSandboxRecord(dir, { ...record, process: proc }).catch((err: unknown) => o.log.warn("cannot update a sandbox record", { sandbox: id, err }));
  } else {
    o.log.debug("sandbox process not found; its lease follows the manager", { sandbox: id });
  }
  const destroy = sandbox.destroy.bind(sandbox);
  let destroyed: Promise<void> | undefined;
  sandbox.destroy = () =>
    (destroyed ??= destroy().finally(async () => {
      await lease?.release();
    }));
  return sandbox;
}
