/**
 * The local cache of environments: `<cacheDir>/environments/<slug>/<version>/` holds
 * `manifest.json` and `rootfs/`. A copy is used only once its tree matches the manifest's
 * digest; a half-built copy lives in a `.partial-*` sibling and is never used.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, rename, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import type { Logger } from "../logger.js";
import { MmdebstrapBuilder, type EnvironmentBuilder } from "./builder.js";
import { CATALOG, findEntry, slugOf, type CatalogEntry } from "./catalog.js";
import { chownTree, type Owner } from "./chown-tree.js";
import { treeDigest } from "./digest.js";
import { installedPackages } from "./installed-packages.js";
import { readManifest, syncDir, writeManifest, type Manifest } from "./manifest.js";
import { removeTree, treeSize } from "./remove-tree.js";
import { SharedTask } from "./shared-task.js";

export type { Manifest } from "./manifest.js";

/** A verified copy of an environment in the cache. */
export interface InstalledEnvironment {
  entry: CatalogEntry;
  /** `<cacheDir>/environments/<slug>/<version>`. */
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

const PARTIAL_PREFIX = ".partial-";

type CopyState = { ok: InstalledEnvironment } | { corrupt: string } | { absent: true };

/** Lists, verifies, builds and prunes cached environments. One store owns a cache directory. */
export class EnvironmentStore {
  private readonly root: string;
  private readonly builder: EnvironmentBuilder;
  /** `dir\0digest` of copies whose whole tree was checked in this process. */
  private readonly verified = new Set<string>();
  /** Tree checks under way, so concurrent first uses digest once. */
  private readonly verifying = new Map<string, Promise<boolean>>();
  private readonly builds = new Map<string, SharedTask<InstalledEnvironment, EnsureProgress>>();
  /** Partial directories builds of this process are writing; prune leaves them alone. */
  private readonly activePartials = new Set<string>();

  constructor(private readonly opts: StoreOptions) {
    this.root = join(opts.cacheDir, "environments");
    this.builder = opts.builder ?? new MmdebstrapBuilder({ log: opts.log });
  }

  /** Every catalog entry, with its verified copy when one is installed. */
  async list(): Promise<Array<{ entry: CatalogEntry; installed?: InstalledEnvironment }>> {
    return Promise.all(
      CATALOG.map(async (entry) => {
        const installed = await this.get(entry.name);
        return installed ? { entry, installed } : { entry };
      }),
    );
  }

  /** The installed, verified copy of `name`, or undefined. A corrupt copy is removed. */
  async get(name: string): Promise<InstalledEnvironment | undefined> {
    const entry = findEntry(name);
    const dir = this.versionDir(entry);
    const state = await this.inspect(entry, dir);
    if ("ok" in state) return state.ok;
    if ("corrupt" in state) {
      this.opts.log.warn("removing corrupt environment copy", { environment: name, path: dir, reason: state.corrupt });
      await this.remove(dir);
    }
    return undefined;
  }

  /** The installed copy of `name`, built first when there is none (or when `force`). */
  async ensure(name: string, opts: EnsureOptions = {}): Promise<InstalledEnvironment> {
    const entry = findEntry(name);
    const cancelled = () => new PyroError("cancelled", `installing environment "${name}" was cancelled`);
    if (opts.signal?.aborted) throw cancelled();
    let task = this.builds.get(name);
    if (!task && !opts.force) {
      const installed = await this.get(name);
      if (installed) {
        opts.onProgress?.({ environment: name, phase: PullPhase.DONE, message: "already installed", elapsedMs: 0 });
        return installed;
      }
      task = this.builds.get(name); // another caller may have started while we verified
    }
    if (!task) task = this.startBuild(entry);
    return task.join(opts.onProgress, opts.signal, cancelled);
  }

  /**
   * Removes half-built copies, corrupt copies, copies of other recipe versions and of names
   * the catalog no longer has; with `all`, every copy.
   */
  async prune(opts: { all?: boolean } = {}): Promise<{ removedPaths: string[]; freedBytes: number }> {
    const removedPaths: string[] = [];
    let freedBytes = 0;
    const drop = async (path: string) => {
      freedBytes += await treeSize(path);
      await this.remove(path);
      removedPaths.push(path);
    };
    for (const slug of await readdirOrEmpty(this.root)) {
      const slugDir = join(this.root, slug);
      const entry = CATALOG.find((e) => slugOf(e.name) === slug);
      if (!entry) {
        await drop(slugDir);
        continue;
      }
      for (const child of await readdirOrEmpty(slugDir)) {
        const path = join(slugDir, child);
        if (this.activePartials.has(path)) continue;
        if (child.startsWith(PARTIAL_PREFIX) || child !== entry.version || opts.all) {
          await drop(path);
        } else if (!("ok" in (await this.inspect(entry, path)))) {
          this.opts.log.warn("pruning corrupt environment copy", { environment: entry.name, path });
          await drop(path);
        }
      }
      // An empty name directory is tidied away too, unless a build is about to fill it.
      if (!this.builds.has(entry.name)) await rmdir(slugDir).catch(() => {});
    }
    this.opts.log.info("pruned environments", { removedPaths, freedBytes, all: !!opts.all });
    return { removedPaths, freedBytes };
  }

  private versionDir(entry: CatalogEntry): string {
    return join(this.root, slugOf(entry.name), entry.version);
  }

  /** Whether the copy at `dir` can be used: manifest valid and, once per process, tree digest matching. */
  private async inspect(entry: CatalogEntry, dir: string): Promise<CopyState> {
    if (!(await isDir(dir))) return { absent: true };
    let manifest: Manifest;
    try {
      manifest = await readManifest(join(dir, "manifest.json"));
    } catch (err) {
      return { corrupt: (err as Error).message };
    }
    if (manifest.name !== entry.name || manifest.version !== entry.version) {
      return { corrupt: `manifest is for ${manifest.name} version ${manifest.version}` };
    }
    const rootfs = join(dir, "rootfs");
    if (!(await isDir(rootfs))) return { corrupt: "rootfs/ is missing" };
    const key = `${dir}\0${manifest.rootfsDigest}`;
    if (!this.verified.has(key)) {
      let check = this.verifying.get(key);
      if (!check) {
        check = this.checkDigest(entry, rootfs, manifest.rootfsDigest).finally(() => this.verifying.delete(key));
        this.verifying.set(key, check);
      }
      if (!(await check)) return { corrupt: "rootfs does not match the manifest's digest" };
      this.verified.add(key);
    }
    return { ok: { entry, dir, rootfs, manifest } };
  }

  private async checkDigest(entry: CatalogEntry, rootfs: string, expected: string): Promise<boolean> {
    const started = Date.now();
    const { digest } = await treeDigest(rootfs);
    this.opts.log.info("verified environment tree", { environment: entry.name, ok: digest === expected, ms: Date.now() - started });
    return digest === expected;
  }

  private startBuild(entry: CatalogEntry): SharedTask<InstalledEnvironment, EnsureProgress> {
    const task = new SharedTask<InstalledEnvironment, EnsureProgress>(
      (emit, signal) => this.build(entry, emit, signal),
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

  private async build(entry: CatalogEntry, emit: (p: EnsureProgress) => void, signal: AbortSignal): Promise<InstalledEnvironment> {
    const { log, mirror } = this.opts;
    const started = Date.now();
    const progress = (phase: PullPhase, message: string) =>
      emit({ environment: entry.name, phase, message, elapsedMs: Date.now() - started });
    const slugDir = join(this.root, slugOf(entry.name));
    const partial = join(slugDir, `${PARTIAL_PREFIX}${entry.version}-${randomBytes(4).toString("hex")}`);
    this.activePartials.add(partial);
    try {
      progress(PullPhase.RESOLVE, `building ${entry.name} from ${mirror}`);
      await this.makeDirs(slugDir);
      await this.removeLeftovers(slugDir);
      await mkdir(partial);
      await chmod(partial, 0o755);
      const rootfs = join(partial, "rootfs");
      try {
        await this.builder.build(entry, rootfs, { mirror, signal, onProgress: (p) => progress(p.phase, p.message) });
      } catch (err) {
        if (err instanceof PyroError) throw err;
        throw new PyroError("environment_build_failed", `building environment "${entry.name}" from ${mirror} failed: ${(err as Error).message}`, { cause: err });
      }
      throwIfCancelled(signal, entry);
      if (this.opts.rootfsOwner) await chownTree(rootfs, this.opts.rootfsOwner);
      progress(PullPhase.VERIFY, "computing the root filesystem digest");
      const tree = await treeDigest(rootfs);
      const pkgs = await installedPackages(rootfs);
      const manifest: Manifest = {
        name: entry.name,
        version: entry.version,
        rootfsDigest: tree.digest,
        sizeBytes: tree.sizeBytes,
        packageCount: pkgs.length,
        installedPackages: pkgs,
        createdAt: new Date().toISOString(),
        source: "build",
        mirror,
        packages: [...entry.packages],
      };
      await writeManifest(join(partial, "manifest.json"), manifest);
      throwIfCancelled(signal, entry);
      const dir = this.versionDir(entry);
      await this.moveIntoPlace(partial, dir);
      this.verified.add(`${dir}\0${manifest.rootfsDigest}`);
      const installed: InstalledEnvironment = { entry, dir, rootfs: join(dir, "rootfs"), manifest };
      log.info("environment installed", { environment: entry.name, path: dir, digest: tree.digest, sizeBytes: tree.sizeBytes, files: tree.fileCount, packages: pkgs.length, ms: Date.now() - started });
      progress(PullPhase.DONE, `installed ${entry.name} (${pkgs.length} packages, ${formatMiB(tree.sizeBytes)})`);
      return installed;
    } catch (err) {
      await this.remove(partial).catch((rmErr: unknown) => log.error("cannot remove a partial environment", { path: partial, err: rmErr }));
      if (err instanceof PyroError) throw err;
      log.error("installing environment failed", { environment: entry.name, err });
      throw new PyroError("internal", `installing environment "${entry.name}" failed`, { cause: err });
    } finally {
      this.activePartials.delete(partial);
    }
  }

  /** Renames the finished `partial` to `dir`, replacing (with `force`) an older copy there. */
  private async moveIntoPlace(partial: string, dir: string): Promise<void> {
    const slugDir = join(dir, "..");
    let old: string | undefined;
    if (await isDir(dir)) {
      // A crash between the renames leaves the old copy as a partial, which prune removes.
      old = join(slugDir, `${PARTIAL_PREFIX}${randomBytes(4).toString("hex")}-replaced`);
      await rename(dir, old);
    }
    await rename(partial, dir);
    await syncDir(slugDir);
    if (old) await this.remove(old);
  }

  /** Creates the cache directories; when trees are given to the sandbox uid, it cannot reach them. */
  private async makeDirs(slugDir: string): Promise<void> {
    for (const dir of [this.opts.cacheDir, this.root, slugDir]) {
      if (await isDir(dir)) continue;
      await mkdir(dir, { recursive: true });
      await chmod(dir, dir === this.root && this.opts.rootfsOwner ? 0o700 : 0o755);
    }
  }

  /** Removes partial directories that no build of this process is writing: a crash left them. */
  private async removeLeftovers(slugDir: string): Promise<void> {
    for (const child of await readdirOrEmpty(slugDir)) {
      const path = join(slugDir, child);
      if (!child.startsWith(PARTIAL_PREFIX) || this.activePartials.has(path)) continue;
      this.opts.log.warn("removing a half-built environment", { path });
      await this.remove(path);
    }
  }

  private async remove(path: string): Promise<void> {
    for (const key of this.verified) if (key.startsWith(`${path}\0`)) this.verified.delete(key);
    await removeTree(path, this.opts.log);
  }
}

function throwIfCancelled(signal: AbortSignal, entry: CatalogEntry): void {
  if (signal.aborted) throw new PyroError("cancelled", `building environment "${entry.name}" was cancelled`);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return [];
    throw err;
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
