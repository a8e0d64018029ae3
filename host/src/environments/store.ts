/**
 * The local cache of environments, `<cacheDir>/environments/<slug>/` (layout: copy-layout.ts).
 * A copy is used only once its tree matches its manifest's digest, and never changes once
 * published, so a sandbox's rootfs never changes under it; the current copy is the one a
 * pointer names. Builds, removals and pointer changes of one environment hold its lock
 * (`<cacheDir>/locks/env-<slug>.lock`, see file-lock.ts), so managers sharing a cache take
 * turns: one builds, the others wait and use its copy. A copy in use by a live sandbox
 * (copy-users.ts) is never removed; an old or corrupt one goes once its last user has.
 */
import { chmod, lstat, mkdir, rename } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { lockFile, type FileLock } from "../file-lock.js";
import type { Logger } from "../logger.js";
import { buildCopy, throwIfCancelled } from "./build-copy.js";
import { MmdebstrapBuilder, type EnvironmentBuilder } from "./builder.js";
import { CATALOG, findEntry, slugOf, type CatalogEntry } from "./catalog.js";
import type { Owner } from "./chown-tree.js";
import { isCopyName, isLeftover, isRealDir, newCopyName, readdirOrEmpty, readPointer, switchPointer } from "./copy-layout.js";
import { clearMark, existingRegistration, liveUsers, register, USERS_DIR, type Holder, type Registration } from "./copy-users.js";
import { treeDigest } from "./digest.js";
import { readManifest, type Manifest } from "./manifest.js";
import { pruneEnvironmentDir, removeCopyUnlessUsed, type PruneResult } from "./prune-copies.js";
import { removeTree } from "./remove-tree.js";
import { SharedTask } from "./shared-task.js";

export type { Manifest } from "./manifest.js";
export type { KeptCopy, PruneResult } from "./prune-copies.js";

/** A verified copy of an environment in the cache. */
export interface InstalledEnvironment {
  entry: CatalogEntry;
  /** The copy's own directory, `<cacheDir>/environments/<slug>/.copy-<version>-<id>` (not the pointer). */
  dir: string;
  /** The root filesystem sandboxes start from. */
  rootfs: string;
  manifest: Manifest;
}

/** One progress event of an install. */
export interface EnsureProgress {
  environment: string;
  phase: PullPhase;
  message: string;
  /** Milliseconds since the install began (not since this caller joined). */
  elapsedMs: number;
}

export interface EnsureOptions {
  onProgress?: (progress: EnsureProgress) => void;
  /** Aborting stops this caller's wait (and the build, once no caller waits for it). */
  signal?: AbortSignal;
  /** Rebuild even when a verified copy is cached. */
  force?: boolean;
}

export interface StoreOptions {
  cacheDir: string;
  /** Debian mirror URL builds use. */
  mirror: string;
  log: Logger;
  /** Defaults to mmdebstrap. */
  builder?: EnvironmentBuilder;
  /** When set, built trees are given to this host uid/gid (the sandbox user). */
  rootfsOwner?: Owner;
}

/** A sandbox's hold on the copy it was made from; see copy-users.ts. */
export interface EnvironmentLease {
  /** The copy's own directory. */
  readonly copyDir: string;
  /** Ties the lease to `holder` (the sandbox's own process, or a durable sandbox's record) instead of this manager. */
  holdBy(holder: Holder): Promise<void>;
  /** Ends the lease; an old copy it was the last user of is removed. Safe to call twice. */
  release(): Promise<void>;
}

type CopyState = { ok: InstalledEnvironment } | { corrupt: string; dir: string } | { absent: true };

/** Tries to tidy a replaced copy at its last user's release while others hold its lock (0.25 s, 0.5 s, … 4 s later). */
const COLLECT_RETRIES = 5;

/** Lists, verifies, builds, leases and prunes cached environments. */
export class EnvironmentStore {
  private readonly root: string;
  private readonly locks: string;
  private readonly builder: EnvironmentBuilder;
  /** `dir\0digest` of copies whose whole tree was checked in this process. */
  private readonly verified = new Set<string>();
  /**
   * Copies found sound (manifest read and checked, tree verified), by directory. A published
   * copy never changes, so get() and isUsable() (every run's) find it with a readlink and an
   * lstat, not by reading its manifest again; list(), ensure() and prune() read the disk again
   * (so `env pull` notices a manifest damaged since), and an entry goes with its copy.
   */
  private readonly sound = new Map<string, InstalledEnvironment>();
  /** Tree checks under way, so concurrent first uses digest once. */
  private readonly verifying = new Map<string, Promise<boolean>>();
  private readonly builds = new Map<string, SharedTask<InstalledEnvironment, EnsureProgress>>();

  constructor(private readonly opts: StoreOptions) {
    this.root = join(opts.cacheDir, "environments");
    this.locks = join(opts.cacheDir, "locks");
    this.builder = opts.builder ?? new MmdebstrapBuilder({ log: opts.log });
  }

  /** Every catalog entry, with its verified copy when one is installed (a corrupt one counts as not installed). */
  async list(): Promise<Array<{ entry: CatalogEntry; installed?: InstalledEnvironment }>> {
    return Promise.all(
      CATALOG.map(async (entry) => {
        const state = await this.current(entry);
        return "ok" in state ? { entry, installed: state.ok } : { entry };
      }),
    );
  }

  /**
   * The current verified copy of `name`, or undefined when none is installed. A corrupt copy
   * is reported as `environment_corrupt` and left where it is: reading never deletes.
   */
  async get(name: string): Promise<InstalledEnvironment | undefined> {
    const entry = findEntry(name);
    const state = await this.current(entry, false, true);
    if ("ok" in state) return state.ok;
    if ("corrupt" in state) {
      throw new PyroError("environment_corrupt", `the cached copy of environment "${name}" at ${state.dir} is corrupt: ${state.corrupt}`, {
        hint: `run \`pyro env pull --force ${name}\` to build a new copy beside it (sandboxes using the old one keep it until they end)`,
      });
    }
    return undefined;
  }

  /** The current copy of `name`, built first when there is none, when it is corrupt, or when `force`. */
  async ensure(name: string, opts: EnsureOptions = {}): Promise<InstalledEnvironment> {
    const entry = findEntry(name);
    const cancelled = () => new PyroError("cancelled", `installing environment "${name}" was cancelled`);
    if (opts.signal?.aborted) throw cancelled();
    let task = this.builds.get(name);
    let seen: string | undefined;
    if (!task) {
      const state = await this.current(entry);
      if ("ok" in state && !opts.force) {
        opts.onProgress?.({ environment: name, phase: PullPhase.DONE, message: "already installed", elapsedMs: 0 });
        return state.ok;
      }
      if ("corrupt" in state) this.opts.log.warn("environment copy is corrupt; building a new one beside it", { environment: name, path: state.dir, reason: state.corrupt });
      seen = "ok" in state ? state.ok.dir : undefined;
      task = this.builds.get(name); // another caller may have started while we verified
    }
    if (!task) task = this.startBuild(entry, opts.force ? seen : undefined);
    return task.join(opts.onProgress, opts.signal, cancelled);
  }

  /**
   * Registers sandbox `sandbox` as a user of `copy`, held by `holder` until `holdBy` names
   * another process. Undefined when the copy is no longer the current one, is being removed
   * or is gone: new sandboxes start from the current copy, so resolve it again.
   */
  async lease(copy: InstalledEnvironment, sandbox: string, holder: Holder): Promise<EnvironmentLease | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await register(copy.dir, sandbox, holder);
      if (r === "gone") return undefined;
      if (r !== "removing") {
        // Checked after registering: a copy replaced later is held by this lease until it ends.
        if (await this.isCurrent(copy)) return this.leaseOf(copy.entry, copy.dir, r);
        await r.release();
        return undefined;
      }
      // A removal is deciding (or died deciding): once it is over, the mark is gone or stale.
      const lock = await this.lock(copy.entry.name, true);
      try {
        await clearMark(copy.dir).catch(() => {});
      } finally {
        await lock!.release();
      }
    }
    return undefined;
  }

  /**
   * The lease sandbox `sandbox` holds on the copy at `copyDir` (as its record says), taken by
   * an earlier manager: to end it with the sandbox, or to tie it to another holder. Undefined
   * when `copyDir` is not a copy in this cache.
   */
  resumeLease(copyDir: string, sandbox: string): EnvironmentLease | undefined {
    const rel = relative(this.root, copyDir).split(sep);
    const entry = CATALOG.find((e) => slugOf(e.name) === rel[0]);
    if (!entry || rel.length !== 2 || !isCopyName(rel[1]!) || join(this.root, rel[0]!, rel[1]!) !== copyDir) return undefined;
    return this.leaseOf(entry, copyDir, existingRegistration(copyDir, sandbox));
  }

  /** True while `copy` is the one its environment's pointer names. */
  async isCurrent(copy: Pick<InstalledEnvironment, "entry" | "dir">): Promise<boolean> {
    const target = await this.pointerTarget(copy.entry).catch(() => undefined);
    return target !== undefined && join(this.slugDir(copy.entry), target) === copy.dir;
  }

  /** True while `copy` is current and its manifest still sound (what a sandbox made ahead of time may start from). */
  async isUsable(copy: InstalledEnvironment): Promise<boolean> {
    if (!(await this.isCurrent(copy))) return false;
    return "ok" in (await this.inspect(copy.entry, copy.dir, true).catch(() => ({ absent: true as const })));
  }

  /**
   * Removes half-built copies, corrupt and outdated copies, and names the catalog no longer
   * has; with `all`, every copy. Copies live sandboxes use, and environments a build holds,
   * are kept and reported.
   */
  async prune(opts: { all?: boolean } = {}): Promise<PruneResult> {
    const result: PruneResult = { removedPaths: [], freedBytes: 0, kept: [] };
    for (const slug of await readdirOrEmpty(this.root)) {
      const slugDir = join(this.root, slug);
      if (!(await isRealDir(slugDir))) continue;
      const lock = await this.lock(slug, false);
      if (!lock) {
        result.kept.push({ path: slugDir, reason: "a build of this environment is under way" });
        continue;
      }
      try {
        const entry = CATALOG.find((e) => slugOf(e.name) === slug);
        // Copies of the old layout become copies with pointers first, so their users count.
        if (entry) await this.adoptOldCopy(entry);
        await pruneEnvironmentDir({
          slugDir,
          entry,
          all: !!opts.all,
          isSound: async (dir) => !!entry && "ok" in (await this.inspect(entry, dir)),
          removeTree: (path) => this.remove(path),
          result,
        });
      } finally {
        await lock.release();
      }
    }
    this.opts.log.info("pruned environments", { ...result, all: !!opts.all });
    return result;
  }

  /**
   * Tidies every environment no build holds: half-built copies a crash left, and old copies
   * whose users are gone. Run at start; nothing current is touched.
   */
  async collect(): Promise<void> {
    for (const entry of CATALOG) {
      if (!(await isRealDir(this.slugDir(entry)))) continue;
      const lock = await this.lock(entry.name, false);
      if (!lock) continue;
      try {
        await this.collectHeld(entry);
      } finally {
        await lock.release();
      }
    }
  }

  private slugDir(entry: CatalogEntry): string {
    return join(this.root, slugOf(entry.name));
  }

  private pointerPath(entry: CatalogEntry): string {
    return join(this.slugDir(entry), entry.version);
  }

  /** The environment's lock (`nameOrSlug` is a catalog name or a directory name under environments/). */
  private async lock(nameOrSlug: string, wait: boolean, signal?: AbortSignal): Promise<FileLock | undefined> {
    await this.makeDirs([this.opts.cacheDir], 0o755);
    await this.makeDirs([this.locks], 0o700);
    return lockFile(join(this.locks, `env-${slugOf(nameOrSlug)}.lock`), { wait, signal });
  }

  /** The copy the pointer names; undefined when there is none. */
  private pointerTarget(entry: CatalogEntry): Promise<string | undefined> {
    return readPointer(this.pointerPath(entry));
  }

  /** The current copy of `entry`: what the pointer names, checked. `held`: the caller holds the environment's lock. */
  private async current(entry: CatalogEntry, held = false, cached = false): Promise<CopyState> {
    const pointer = this.pointerPath(entry);
    const st = await lstat(pointer).catch(() => undefined);
    if (!st) return { absent: true };
    if (st.isDirectory()) {
      // A copy of the layout before pointers: give it a name and a pointer, then read it as any other.
      if (held) await this.adoptOldCopy(entry);
      else {
        const lock = await this.lock(entry.name, true);
        try {
          await this.adoptOldCopy(entry);
        } finally {
          await lock!.release();
        }
      }
      if ((await lstat(pointer).catch(() => undefined))?.isDirectory()) return { corrupt: "it is a directory where a link was expected", dir: pointer };
      return this.current(entry, held, cached);
    }
    const target = await this.pointerTarget(entry);
    if (target === undefined) return { absent: true };
    if (!isCopyName(target, entry.version)) {
      return { corrupt: `its pointer names ${JSON.stringify(target.slice(0, 200))}, not a copy`, dir: pointer };
    }
    return this.inspect(entry, join(this.slugDir(entry), target), cached);
  }

  /**
   * Whether the copy at `dir` can be used: manifest valid and, once per process, tree digest
   * matching. With `cached`, a copy found sound before needs only to be there still.
   */
  private async inspect(entry: CatalogEntry, dir: string, cached = false): Promise<CopyState> {
    if (!(await isRealDir(dir))) {
      this.sound.delete(dir);
      return { absent: true };
    }
    const known = cached ? this.sound.get(dir) : undefined;
    if (known && known.entry.name === entry.name && known.entry.version === entry.version) return { ok: known };
    this.sound.delete(dir);
    let manifest: Manifest;
    try {
      manifest = await readManifest(join(dir, "manifest.json"));
    } catch (err) {
      return { corrupt: (err as Error).message, dir };
    }
    if (manifest.name !== entry.name || manifest.version !== entry.version) {
      return { corrupt: `manifest is for ${manifest.name} version ${manifest.version}`, dir };
    }
    const rootfs = join(dir, "rootfs");
    if (!(await isRealDir(rootfs))) return { corrupt: "rootfs/ is missing", dir };
    if (!(await isRealDir(join(dir, USERS_DIR)))) return { corrupt: `${USERS_DIR}/ is missing: who uses it cannot be known`, dir };
    const key = `${dir}\0${manifest.rootfsDigest}`;
    if (!this.verified.has(key)) {
      let check = this.verifying.get(key);
      if (!check) {
        check = this.checkDigest(entry, rootfs, manifest.rootfsDigest).finally(() => this.verifying.delete(key));
        this.verifying.set(key, check);
      }
      if (!(await check)) return { corrupt: "rootfs does not match the manifest's digest", dir };
      this.verified.add(key);
    }
    const ok: InstalledEnvironment = { entry, dir, rootfs, manifest };
    this.sound.set(dir, ok);
    return { ok };
  }

  private async checkDigest(entry: CatalogEntry, rootfs: string, expected: string): Promise<boolean> {
    const started = Date.now();
    const { digest } = await treeDigest(rootfs);
    this.opts.log.info("verified environment tree", { environment: entry.name, ok: digest === expected, ms: Date.now() - started });
    return digest === expected;
  }

  private leaseOf(entry: CatalogEntry, dir: string, reg: Registration): EnvironmentLease {
    const copy = { entry, dir };
    let released: Promise<void> | undefined;
    return {
      copyDir: dir,
      holdBy: (holder) => reg.holdBy(holder),
      release: () =>
        (released ??= (async () => {
          await reg.release();
          // The last user of a copy that is no longer current takes it along.
          await this.collectReplaced(copy, 0);
        })().catch((err: unknown) => this.opts.log.warn("releasing an environment lease failed", { path: copy.dir, err }))),
    };
  }

  /**
   * Removes the old copies of `copy`'s environment that nobody uses, when `copy` is no longer
   * current. Whoever holds the environment's lock meanwhile (a build, another manager looking
   * at it) may have seen this copy still in use: a few tries later, off the caller's path.
   */
  private async collectReplaced(copy: Pick<InstalledEnvironment, "entry" | "dir">, attempt: number): Promise<void> {
    if (await this.isCurrent(copy)) return;
    const lock = await this.lock(copy.entry.name, false);
    if (!lock) {
      if (attempt >= COLLECT_RETRIES) return; // the next start's collect() tidies up
      const retry = setTimeout(() => {
        this.collectReplaced(copy, attempt + 1).catch((err: unknown) => this.opts.log.warn("tidying old environment copies failed", { path: copy.dir, err }));
      }, 250 << attempt);
      retry.unref();
      return;
    }
    try {
      await this.collectHeld(copy.entry);
    } finally {
      await lock.release();
    }
  }

  /**
   * Gives a copy of the old layout (`<slug>/<version>/` as a directory) a copy name and a
   * pointer; a sandbox already running on it keeps its mount. Call holding the environment's lock.
   */
  private async adoptOldCopy(entry: CatalogEntry): Promise<void> {
    const pointer = this.pointerPath(entry);
    if (!(await lstat(pointer).catch(() => undefined))?.isDirectory()) return;
    const name = newCopyName(entry.version);
    const dir = join(this.slugDir(entry), name);
    await rename(pointer, dir);
    await mkdir(join(dir, USERS_DIR), { recursive: true, mode: 0o700 });
    await switchPointer(this.slugDir(entry), entry.version, name);
    this.opts.log.info("gave an environment copy of the old layout a pointer", { environment: entry.name, path: dir });
  }

  private startBuild(entry: CatalogEntry, replacing: string | undefined): SharedTask<InstalledEnvironment, EnsureProgress> {
    const task = new SharedTask<InstalledEnvironment, EnsureProgress>(
      (emit, signal) => this.build(entry, replacing, emit, signal),
      // Let a new request start afresh rather than join a build that is being torn down.
      () => this.builds.get(entry.name) === task && this.builds.delete(entry.name),
    );
    this.builds.set(entry.name, task);
    const forget = () => {
      if (this.builds.get(entry.name) === task) this.builds.delete(entry.name);
    };
    task.promise.then(forget, forget);
    return task;
  }

  /**
   * Builds a new copy of `entry` beside the current one and makes it current. With
   * `replacing` (a forced rebuild of that copy), a copy someone else made meanwhile counts.
   */
  private async build(entry: CatalogEntry, replacing: string | undefined, emit: (p: EnsureProgress) => void, signal: AbortSignal): Promise<InstalledEnvironment> {
    const started = Date.now();
    const progress = (phase: PullPhase, message: string) => emit({ environment: entry.name, phase, message, elapsedMs: Date.now() - started });
    let lock = await this.lock(entry.name, false);
    if (!lock) {
      progress(PullPhase.RESOLVE, `waiting for another build of ${entry.name} (another pyro manager shares this cache)`);
      this.opts.log.info("waiting for the environment lock", { environment: entry.name });
      try {
        lock = await this.lock(entry.name, true, signal);
      } catch (err) {
        throwIfCancelled(signal, entry);
        throw err;
      }
    }
    try {
      // Whoever held the lock may have just installed it.
      const now = await this.current(entry, true);
      if ("ok" in now && now.ok.dir !== replacing) {
        progress(PullPhase.DONE, `installed ${entry.name} (built by another pyro manager)`);
        return now.ok;
      }
      const slugDir = this.slugDir(entry);
      await this.makeDirs([this.opts.cacheDir], 0o755);
      // Sandboxes are mounted by root, so when the trees are given to the sandbox uid (to be
      // root inside), that uid needs no way to them: none, so no process of it can change them.
      await this.makeDirs([this.root], this.opts.rootfsOwner ? 0o700 : 0o755);
      await this.makeDirs([slugDir], 0o755);
      await this.removeLeftovers(slugDir);
      const started = Date.now();
      const { mirror, log } = this.opts;
      const built = await buildCopy({ entry, slugDir, builder: this.builder, mirror, rootfsOwner: this.opts.rootfsOwner, log, progress, signal, removeTree: (p) => this.remove(p) });
      await switchPointer(slugDir, entry.version, built.name);
      this.verified.add(`${built.dir}\0${built.manifest.rootfsDigest}`);
      const installed: InstalledEnvironment = { entry, dir: built.dir, rootfs: join(built.dir, "rootfs"), manifest: built.manifest };
      this.sound.set(built.dir, installed);
      const m = built.manifest;
      log.info("environment installed", { environment: entry.name, path: built.dir, digest: m.rootfsDigest, sizeBytes: m.sizeBytes, files: built.fileCount, packages: m.packageCount, ms: Date.now() - started });
      progress(PullPhase.DONE, `installed ${entry.name} (${m.packageCount} packages, ${(m.sizeBytes / (1 << 20)).toFixed(1)} MiB)`);
      await this.collectHeld(entry).catch((err: unknown) => this.opts.log.warn("tidying old environment copies failed", { environment: entry.name, err }));
      return installed;
    } finally {
      await lock!.release();
    }
  }

  /**
   * Removes what crashes left (partial builds, half-deleted copies, stray pointer files, stale
   * removal marks, registrations of sandboxes that died with their manager) and old copies of
   * `entry` no live sandbox uses. Call holding its lock.
   */
  private async collectHeld(entry: CatalogEntry): Promise<void> {
    const slugDir = this.slugDir(entry);
    await this.removeLeftovers(slugDir);
    const target = await this.pointerTarget(entry);
    for (const child of await readdirOrEmpty(slugDir)) {
      if (!isCopyName(child)) continue;
      const dir = join(slugDir, child);
      await clearMark(dir).catch(() => {});
      if (child === target) {
        await liveUsers(dir); // deletes the registrations whose process is gone
        continue;
      }
      const r = await removeCopyUnlessUsed(slugDir, dir, (p) => this.remove(p));
      if (r.removed) this.opts.log.info("removed an old environment copy", { environment: entry.name, path: dir });
    }
  }

  /** Creates `dirs` in order (each with `mode` when this call makes it). */
  private async makeDirs(dirs: string[], mode: number): Promise<void> {
    for (const dir of dirs) {
      if (await isRealDir(dir)) continue;
      await mkdir(dir, { recursive: true });
      await chmod(dir, mode);
    }
  }

  /** Removes partial builds, half-deleted copies and stray pointer files: under the lock, nobody is writing them. */
  private async removeLeftovers(slugDir: string): Promise<void> {
    for (const child of await readdirOrEmpty(slugDir)) {
      if (!isLeftover(child)) continue;
      const path = join(slugDir, child);
      this.opts.log.warn("removing what an interrupted build or removal left", { path });
      await this.remove(path);
    }
  }

  private async remove(path: string): Promise<void> {
    for (const key of this.verified) if (key.startsWith(`${path}\0`)) this.verified.delete(key);
    this.sound.delete(path);
    await removeTree(path, this.opts.log);
  }
}
