import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { silentLogger } from "../logger.js";
import type { BuildOptions, EnvironmentBuilder } from "./builder.js";
import type { CatalogEntry } from "./catalog.js";
import { EnvironmentStore, type EnsureProgress } from "./store.js";

/** Writes a tiny tree; `gate` holds the build until released, `fail` makes it throw half-way. */
class FakeBuilder implements EnvironmentBuilder {
  builds = 0;
  fail = false;
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  async build(entry: CatalogEntry, targetDir: string, opts: BuildOptions): Promise<void> {
    this.builds++;
    await mkdir(join(targetDir, "etc"), { recursive: true });
    await mkdir(join(targetDir, "usr/bin"), { recursive: true });
    opts.onProgress?.({ phase: PullPhase.DOWNLOAD, message: "downloading packages with apt" });
    if (this.gate) {
      await Promise.race([
        this.gate,
        new Promise((_, reject) => opts.signal?.addEventListener("abort", () => reject(new PyroError("cancelled", "stopped")))),
      ]);
    }
    await writeFile(join(targetDir, "etc/os-release"), `NAME=${entry.name}\n`);
    if (this.fail) throw new Error("E: Unable to locate package nope");
    await writeFile(join(targetDir, "usr/bin/su"), "#!/bin/sh\n", { mode: 0o755 });
    await chmod(join(targetDir, "usr/bin/su"), 0o4755);
    await symlink("usr/bin", join(targetDir, "bin"));
    await symlink("/etc/hostname", join(targetDir, "etc/hostname-link")); // absolute: names a host file
    opts.onProgress?.({ phase: PullPhase.INSTALL, message: "installing remaining packages inside the chroot" });
  }
}

let cacheDir: string;
let builder: FakeBuilder;
const newStore = (extra: Partial<ConstructorParameters<typeof EnvironmentStore>[0]> = {}) =>
  new EnvironmentStore({ cacheDir, mirror: "http://mirror.test/debian", log: silentLogger, builder, ...extra });
const envDir = (...parts: string[]) => join(cacheDir, "environments", ...parts);

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), "pyro-store-test-"));
  builder = new FakeBuilder();
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

describe("EnvironmentStore", () => {
  it("builds once, writes a manifest, and then uses the copy", async () => {
    const store = newStore();
    expect(await store.get("debian:12")).toBeUndefined();
    const events: EnsureProgress[] = [];
    const env = await store.ensure("debian:12", { onProgress: (e) => events.push(e) });

    expect(env.dir).toBe(envDir("debian-12", "1"));
    expect(env.rootfs).toBe(envDir("debian-12", "1", "rootfs"));
    const onDisk = JSON.parse(await readFile(join(env.dir, "manifest.json"), "utf8"));
    expect(onDisk).toEqual(env.manifest);
    expect(onDisk).toMatchObject({ name: "debian:12", version: "1", source: "build", mirror: "http://mirror.test/debian", packageCount: 0, installedPackages: [] });
    expect(onDisk.packages).toEqual(["bash", "coreutils", "git", "ca-certificates"]);
    expect(onDisk.rootfsDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(onDisk.sizeBytes).toBeGreaterThan(0);
    expect(events.map((e) => e.phase)).toEqual([PullPhase.RESOLVE, PullPhase.DOWNLOAD, PullPhase.INSTALL, PullPhase.VERIFY, PullPhase.DONE]);
    expect(events.every((e) => e.environment === "debian:12")).toBe(true);
    expect(await readdir(envDir("debian-12"))).toEqual(["1"]); // no partial left

    expect((await store.ensure("debian:12")).manifest).toEqual(env.manifest);
    expect((await newStore().get("debian:12"))?.manifest).toEqual(env.manifest); // verified afresh
    expect(builder.builds).toBe(1);

    const listed = await store.list();
    expect(listed.map((l) => [l.entry.name, !!l.installed])).toEqual([
      ["debian:12", true],
      ["debian:12-base", false],
      ["debian:12-build", false],
    ]);
  });

  it("shares one build between concurrent ensures, with progress for each caller", async () => {
    const store = newStore();
    builder.hold();
    const first: EnsureProgress[] = [];
    const second: EnsureProgress[] = [];
    const a = store.ensure("debian:12-base", { onProgress: (e) => first.push(e) });
    await new Promise((r) => setTimeout(r, 50)); // the build is now waiting in the builder
    const b = store.ensure("debian:12-base", { onProgress: (e) => second.push(e) });
    await new Promise((r) => setTimeout(r, 20));
    builder.open();
    const [ea, eb] = await Promise.all([a, b]);
    expect(builder.builds).toBe(1);
    expect(eb).toEqual(ea);
    expect(first.map((e) => e.phase)).toEqual([PullPhase.RESOLVE, PullPhase.DOWNLOAD, PullPhase.INSTALL, PullPhase.VERIFY, PullPhase.DONE]);
    // The late caller gets the current step replayed, then everything after it.
    expect(second.map((e) => e.phase)).toEqual([PullPhase.DOWNLOAD, PullPhase.INSTALL, PullPhase.VERIFY, PullPhase.DONE]);
  });

  it("never uses a .partial-* directory; ensure and prune remove it", async () => {
    const partial = envDir("debian-12", ".partial-1-deadbeef");
    await mkdir(join(partial, "rootfs/etc"), { recursive: true });
    await writeFile(join(partial, "manifest.json"), "{}");
    const store = newStore();
    expect(await store.get("debian:12")).toBeUndefined();
    expect((await store.prune()).removedPaths).toEqual([partial]);
    await expect(stat(partial)).rejects.toThrow();

    await mkdir(join(partial, "rootfs"), { recursive: true });
    await store.ensure("debian:12");
    expect(await readdir(envDir("debian-12"))).toEqual(["1"]);
  });

  it("removes a tampered copy on first use in a fresh store", async () => {
    const env = await newStore().ensure("debian:12");
    await writeFile(join(env.rootfs, "etc/os-release"), "NAME=evil\n");
    const fresh = newStore();
    expect(await fresh.get("debian:12")).toBeUndefined();
    await expect(stat(env.dir)).rejects.toThrow();
    // ...and the next ensure builds it again.
    await fresh.ensure("debian:12");
    expect(builder.builds).toBe(2);
  });

  it("removes a copy whose manifest is unreadable", async () => {
    const env = await newStore().ensure("debian:12");
    await writeFile(join(env.dir, "manifest.json"), "{ not json");
    expect(await newStore().get("debian:12")).toBeUndefined();
    await expect(stat(env.dir)).rejects.toThrow();
  });

  it("leaves no partial directory when the build fails, and reports environment_build_failed", async () => {
    builder.fail = true;
    const err = await newStore().ensure("debian:12-build").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyroError);
    expect((err as PyroError).code).toBe("environment_build_failed");
    expect((err as PyroError).message).toContain("debian:12-build");
    expect((err as PyroError).message).toContain("http://mirror.test/debian");
    expect(await readdir(envDir("debian-12-build"))).toEqual([]);
  });

  it("cancels the build when its only caller aborts", async () => {
    builder.hold();
    const controller = new AbortController();
    const store = newStore();
    const pending = store.ensure("debian:12", { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "cancelled" });
    await new Promise((r) => setTimeout(r, 50)); // the build's own cleanup
    expect(await readdir(envDir("debian-12"))).toEqual([]);
    builder.open();
  });

  it("rebuilds with force and replaces the copy", async () => {
    const store = newStore();
    const first = await store.ensure("debian:12");
    await new Promise((r) => setTimeout(r, 5));
    const second = await store.ensure("debian:12", { force: true });
    expect(builder.builds).toBe(2);
    expect(second.manifest.createdAt).not.toBe(first.manifest.createdAt);
    expect(await readdir(envDir("debian-12"))).toEqual(["1"]);
  });

  it("prunes old versions and unknown names, and everything with all", async () => {
    const store = newStore();
    await store.ensure("debian:12");
    await store.ensure("debian:12-base");
    await mkdir(envDir("debian-12", "0", "rootfs"), { recursive: true });
    await mkdir(envDir("debian-11", "1", "rootfs"), { recursive: true });
    await writeFile(envDir("debian-11", "1", "rootfs", "x"), "12345");

    const some = await store.prune();
    expect(some.removedPaths.sort()).toEqual([envDir("debian-11"), envDir("debian-12", "0")].sort());
    expect(some.freedBytes).toBe(5);
    expect(await store.get("debian:12")).toBeDefined();

    const all = await store.prune({ all: true });
    expect(all.removedPaths.sort()).toEqual([envDir("debian-12", "1"), envDir("debian-12-base", "1")].sort());
    expect(all.freedBytes).toBeGreaterThan(0);
    expect(await readdir(envDir())).toEqual([]);
    expect((await store.list()).every((l) => !l.installed)).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)("gives the tree to rootfsOwner without following links, keeping setuid bits", async () => {
    const env = await newStore({ rootfsOwner: { uid: 12345, gid: 23456 } }).ensure("debian:12");
    for (const rel of [".", "etc", "etc/os-release", "bin", "etc/hostname-link", "usr/bin/su"]) {
      const s = await lstat(join(env.rootfs, rel));
      expect([rel, s.uid, s.gid]).toEqual([rel, 12345, 23456]);
    }
    expect((await lstat(join(env.rootfs, "usr/bin/su"))).mode & 0o7777).toBe(0o4755);
    expect((await stat("/etc/hostname").catch(() => undefined))?.uid ?? 0).not.toBe(12345);
    expect((await stat(env.dir)).mode & 0o777).toBe(0o755);
    expect(await newStore().get("debian:12")).toBeDefined();
  });

  it("rejects unknown names", async () => {
    await expect(newStore().ensure("nope")).rejects.toMatchObject({ code: "environment_not_found" });
    await expect(newStore().get("nope")).rejects.toMatchObject({ code: "environment_not_found" });
  });
});
