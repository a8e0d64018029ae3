/**
 * Building one new copy of an environment: into a `.partial-*` directory, then digested,
 * described by its manifest and renamed to its copy name. Making it current is the
 * caller's step. Call holding the environment's lock.
 */
import { chmod, mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import type { Logger } from "../logger.js";
import type { EnvironmentBuilder } from "./builder.js";
import type { CatalogEntry } from "./catalog.js";
import { chownTree, type Owner } from "./chown-tree.js";
import { newCopyName, newPartialName } from "./copy-layout.js";
import { USERS_DIR } from "./copy-users.js";
import { treeDigest } from "./digest.js";
import { installedPackages } from "./installed-packages.js";
import { writeManifest, type Manifest } from "./manifest.js";

export interface BuildCopyOptions {
  entry: CatalogEntry;
  /** `<cacheDir>/environments/<slug>`, which exists. */
  slugDir: string;
  builder: EnvironmentBuilder;
  mirror: string;
  rootfsOwner?: Owner;
  log: Logger;
  progress: (phase: PullPhase, message: string) => void;
  signal: AbortSignal;
  /** Deletes a tree (mounts a killed build left included). */
  removeTree: (path: string) => Promise<void>;
}

/** The new copy: its name in the environment's directory, its manifest, and how many entries its tree holds. */
export async function buildCopy(o: BuildCopyOptions): Promise<{ name: string; dir: string; manifest: Manifest; fileCount: number }> {
  const { entry, log, mirror, progress, signal } = o;
  const partial = join(o.slugDir, newPartialName(entry.version));
  try {
    progress(PullPhase.RESOLVE, `building ${entry.name} from ${mirror}`);
    await mkdir(partial);
    await chmod(partial, 0o755); // the sandbox uid must reach rootfs/ whatever the umask
    const rootfs = join(partial, "rootfs");
    try {
      await o.builder.build(entry, rootfs, { mirror, signal, onProgress: (p) => progress(p.phase, p.message) });
    } catch (err) {
      if (err instanceof PyroError) throw err;
      throw new PyroError("environment_build_failed", `building environment "${entry.name}" from ${mirror} failed: ${(err as Error).message}`, { cause: err });
    }
    throwIfCancelled(signal, entry);
    if (o.rootfsOwner) await chownTree(rootfs, o.rootfsOwner);
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
    await mkdir(join(partial, USERS_DIR), { mode: 0o700 });
    throwIfCancelled(signal, entry);
    const name = newCopyName(entry.version);
    const dir = join(o.slugDir, name);
    await rename(partial, dir);
    return { name, dir, manifest, fileCount: tree.fileCount };
  } catch (err) {
    await o.removeTree(partial).catch((rmErr: unknown) => log.error("cannot remove a partial environment", { path: partial, err: rmErr }));
    if (err instanceof PyroError) throw err;
    log.error("installing environment failed", { environment: entry.name, err });
    throw new PyroError("internal", `installing environment "${entry.name}" failed`, { cause: err });
  }
}

/** Throws `cancelled` once `signal` has aborted. */
export function throwIfCancelled(signal: AbortSignal, entry: CatalogEntry): void {
  if (signal.aborted) throw new PyroError("cancelled", `building environment "${entry.name}" was cancelled`);
}
