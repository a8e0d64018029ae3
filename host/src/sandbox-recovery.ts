/**
 * What a manager does at start with the sandboxes in its state directory, made by a manager
 * that is gone (killed, crashed, upgraded): a durable sandbox is taken over — re-adopted
 * while it runs (its agent answers), kept stopped with its files otherwise — and handed to
 * whoever owns it (the workspaces) to claim; a one-shot or pooled sandbox is ended and
 * removed, as is what a crash cut short.
 *
 * Only what is provably pyro's is touched: a directory named like a sandbox, holding a record
 * that names that very directory, whose manager is provably gone and whose processes are
 * provably gone or provably the ones it recorded. Everything else in sandboxes/ (a user's
 * files, another live manager's sandboxes) is left where it is.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Backend, BackendName, Sandbox } from "./backends/backend.js";
import { removeTree } from "./environments/remove-tree.js";
import type { EnvironmentStore } from "./environments/store.js";
import { withLease } from "./leased-sandbox.js";
import type { Logger } from "./logger.js";
import { checkable, isRunning, self, type ProcessIdentity } from "./process-identity.js";
import { isCurrentRecord, readSandboxRecord, RECORD_FILE, SANDBOX_ID, type LegacySandboxRecord, type SandboxRecord } from "./sandbox-record.js";

export interface RecoveryOptions {
  /** `<state>/sandboxes`. */
  sandboxesDir: string;
  backend: (name: BackendName) => Backend | undefined;
  /** Where the sandboxes' environment leases are; without it leases lapse by themselves. */
  store?: EnvironmentStore;
  log: Logger;
  /** Ends what is left in the cgroups of sandboxes `ids`, whose records name no processes to end them by. */
  endLeftovers?: (ids: string[]) => Promise<void>;
  signal?: AbortSignal;
}

/** The outcome of a start-up's recovery. */
export interface RecoveredSandboxes {
  /** Durable sandboxes taken over (running or stopped), by id, until claimed. */
  readonly sandboxes: ReadonlyMap<string, Sandbox>;
  /** Durable sandboxes whose files are gone: nothing to start again; left in place. */
  readonly gone: readonly string[];
  /** Sandboxes ended and removed: one-shot and pooled ones, and launches a crash cut short. */
  readonly removed: readonly string[];
  /** Entries left alone: not pyro's, or another live manager's. */
  readonly kept: readonly string[];
  /** Hands the taken-over sandbox `id` to its owner; undefined when there is none, or it was claimed already. */
  claim(id: string): Sandbox | undefined;
  /** Destroys every taken-over sandbox nobody claimed (no owner knows it any more); returns their ids. */
  endUnclaimed(): Promise<string[]>;
}

/** Takes over, or ends and removes, the sandboxes left in `o.sandboxesDir`; see the top of this file. */
export async function recoverSandboxes(o: RecoveryOptions): Promise<RecoveredSandboxes> {
  const me = await self();
  const adopted = new Map<string, Sandbox>();
  const gone: string[] = [];
  const removed: string[] = [];
  const kept: string[] = [];
  const legacy: string[] = [];
  for (const name of await readdir(o.sandboxesDir)) {
    const dir = join(o.sandboxesDir, name);
    const st = await lstat(dir).catch(() => undefined);
    const record = SANDBOX_ID.test(name) && st?.isDirectory() ? await readSandboxRecord(dir, name) : undefined;
    if (!record || (await ownedElsewhere(record, me))) {
      kept.push(name);
      continue;
    }
    if (!isCurrentRecord(record)) {
      legacy.push(name);
      continue;
    }
    const outcome = await takeOver(record, o).catch((err: unknown) => {
      o.log.warn("cannot take over a sandbox left by an earlier manager; leaving it", { sandbox: name, error: err });
      return "kept" as const;
    });
    if (outcome === "kept") kept.push(name);
    else if (outcome === "gone") gone.push(name);
    else if (outcome === "removed") removed.push(name);
    else adopted.set(name, outcome);
  }
  // Records of the first format name no processes to end: their cgroups, by id, then their directories.
  await o.endLeftovers?.(legacy);
  for (const name of legacy) {
    const dir = join(o.sandboxesDir, name);
    await removeTree(dir, o.log).then(
      () => removed.push(name),
      (err: unknown) => o.log.warn("cannot remove a leftover sandbox directory", { path: dir, err }),
    );
  }
  if (removed.length > 0) o.log.info("ended and removed sandboxes an earlier manager left", { removed });
  if (adopted.size > 0) o.log.info("took over durable sandboxes", { sandboxes: [...adopted.keys()], running: [...adopted.values()].filter((s) => s.alive()).map((s) => s.id) });
  if (gone.length > 0) o.log.warn("durable sandboxes whose files are gone", { sandboxes: gone });
  if (kept.length > 0) o.log.info("left alone in the sandboxes directory (not made by pyro, or another live manager's)", { kept: kept.slice(0, 20), count: kept.length });

  const unclaimed = new Map(adopted);
  return {
    sandboxes: adopted,
    gone,
    removed,
    kept,
    claim: (id) => {
      const s = unclaimed.get(id);
      unclaimed.delete(id);
      return s;
    },
    endUnclaimed: async () => {
      const ids = [...unclaimed.keys()];
      for (const [id, s] of unclaimed) {
        unclaimed.delete(id);
        await s.destroy().catch((err: unknown) => o.log.warn("cannot destroy an unclaimed sandbox", { sandbox: id, error: err }));
      }
      if (ids.length > 0) o.log.info("destroyed durable sandboxes nobody claimed", { sandboxes: ids });
      return ids;
    },
  };
}

/**
 * True when the record may be someone else's to act on: a manager other than this one that
 * runs (they share the state directory), or processes named in another pid namespace (whose
 * pids mean nothing here, so nothing about them can be proven).
 */
async function ownedElsewhere(r: SandboxRecord | LegacySandboxRecord, me: ProcessIdentity): Promise<boolean> {
  const sameProcess = r.manager.pid === me.pid && r.manager.start === me.start && r.manager.boot === me.boot;
  if (!sameProcess && (await isRunning(r.manager))) return true;
  if (!isCurrentRecord(r)) return r.process !== undefined && (await isRunning(r.process));
  return [r.processes.launch, r.processes.init, r.processes.network].some((p) => p !== undefined && !checkable(p));
}

/** One current-format record: the taken-over sandbox, or what became of it. */
async function takeOver(record: SandboxRecord, o: RecoveryOptions): Promise<Sandbox | "gone" | "removed" | "kept"> {
  const backend = o.backend(record.backend);
  if (!backend) {
    o.log.warn("a sandbox of a backend this manager does not have; leaving it", { sandbox: record.id, backend: record.backend });
    return "kept";
  }
  const found = await backend.recover(record, o.signal);
  if (found === "gone") return "gone";
  const copy = record.environment.copy;
  const lease = copy ? o.store?.resumeLease(copy, record.id) : undefined;
  const sandbox = withLease(found, lease);
  if (!record.durable) {
    await sandbox.destroy();
    return "removed";
  }
  // Whatever held it while it started, from now on its record does.
  await lease?.holdBy({ record: join(record.dir, RECORD_FILE) }).catch((err: unknown) => o.log.warn("cannot renew a recovered sandbox's environment lease", { sandbox: record.id, copy, error: err }));
  return sandbox;
}
