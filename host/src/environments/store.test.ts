import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { silentLogger } from "../logger.js";
import { self } from "../process-identity.js";
import { deadProcess } from "../testing.js";
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
const listing = async (...parts: string[]) => (await readdir(envDir(...parts))).sort();
const exists = (path: string) => stat(path).then(() => true, () => false);


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

    // A copy of its own, named by the pointer `<version>`.
    expect(env.dir).toMatch(new RegExp(`^${envDir("debian-12")}/\\.copy-1-[0-9a-f]{12}$`));
    expect(env.rootfs).toBe(join(env.dir, "rootfs"));
    expect(await readlink(envDir("debian-12", "1"))).toBe(basename(env.dir));
    const onDisk = JSON.parse(await readFile(join(env.dir, "manifest.json"), "utf8"));
    expect(onDisk).toEqual(env.manifest);
    expect(onDisk).toMatchObject({ name: "debian:12", version: "1", source: "build", mirror: "http://mirror.test/debian", packageCount: 0, installedPackages: [] });
    expect(onDisk.packages).toEqual(["bash", "coreutils", "git", "ca-certificates"]);
    expect(onDisk.rootfsDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(onDisk.sizeBytes).toBeGreaterThan(0);
    expect(events.map((e) => e.phase)).toEqual([PullPhase.RESOLVE, PullPhase.DOWNLOAD, PullPhase.INSTALL, PullPhase.VERIFY, PullPhase.DONE]);
    expect(events.every((e) => e.environment === "debian:12")).toBe(true);
    expect(await listing("debian-12")).toEqual([basename(env.dir), "1"]); // no partial left

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
    const env = await store.ensure("debian:12");
    expect(await listing("debian-12")).toEqual([basename(env.dir), "1"]);
  });

  it("reports a tampered copy as environment_corrupt, leaves it, and builds a new one beside it", async () => {
    const env = await newStore().ensure("debian:12");
    await writeFile(join(env.rootfs, "etc/os-release"), "NAME=evil\n");
    const fresh = newStore();
    await expect(fresh.get("debian:12")).rejects.toMatchObject({ code: "environment_corrupt", message: expect.stringContaining(env.dir) });
    expect(await readFile(join(env.rootfs, "etc/os-release"), "utf8")).toBe("NAME=evil\n"); // reading deletes nothing
    expect((await fresh.list()).find((l) => l.entry.name === "debian:12")?.installed).toBeUndefined();
    // ...and the next ensure builds a new copy; the old one, unused, goes once replaced.
    const rebuilt = await fresh.ensure("debian:12");
    expect(builder.builds).toBe(2);
    expect(rebuilt.dir).not.toBe(env.dir);
    expect(await exists(env.dir)).toBe(false);
    expect(await fresh.get("debian:12")).toMatchObject({ dir: rebuilt.dir });
  });

  it("reports a copy whose manifest is unreadable as environment_corrupt and leaves it on disk", async () => {
    const env = await newStore().ensure("debian:12");
    await writeFile(join(env.dir, "manifest.json"), "{ not json");
    await expect(newStore().get("debian:12")).rejects.toMatchObject({ code: "environment_corrupt" });
    expect(await readFile(join(env.dir, "manifest.json"), "utf8")).toBe("{ not json");
    expect(await exists(join(env.rootfs, "etc/os-release"))).toBe(true);
  });

  it("reads a copy's manifest once for runs (get, isUsable); ensure reads it again, and a copy that went is gone", async () => {
    const store = newStore();
    const env = await store.ensure("debian:12");
    // What a run does: find the copy, and check it is still usable afterwards.
    await writeFile(join(env.dir, "manifest.json"), "{ not read again");
    expect(await store.get("debian:12")).toMatchObject({ dir: env.dir, manifest: env.manifest });
    expect(await store.isUsable(env)).toBe(true);
    await expect(newStore().get("debian:12")).rejects.toMatchObject({ code: "environment_corrupt" });
    // `env pull` looks again, finds the damage and builds a copy beside it.
    const rebuilt = await store.ensure("debian:12");
    expect(rebuilt.dir).not.toBe(env.dir);
    expect(await store.get("debian:12")).toMatchObject({ dir: rebuilt.dir });
    await store.prune({ all: true });
    expect(await store.get("debian:12")).toBeUndefined();
    expect(await store.isUsable(rebuilt)).toBe(false);
  });

  it("a copy without its users/ directory is corrupt: who uses it could not be known", async () => {
    const env = await newStore().ensure("debian:12");
    await rm(join(env.dir, "users"), { recursive: true });
    await expect(newStore().get("debian:12")).rejects.toMatchObject({ code: "environment_corrupt", message: expect.stringContaining("users/ is missing") });
  });

  it("leaves no partial directory when the build fails, and reports environment_build_failed", async () => {
    builder.fail = true;
    const err = await newStore().ensure("debian:12-build").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyroError);
    expect((err as PyroError).code).toBe("environment_build_failed");
    expect((err as PyroError).message).toContain("debian:12-build");
    expect((err as PyroError).message).toContain("http://mirror.test/debian");
    expect(await readdir(envDir("debian-12-build"))).toEqual([]);
    expect(await newStore().get("debian:12-build")).toBeUndefined();
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
    expect(second.dir).not.toBe(first.dir);
    expect(await listing("debian-12")).toEqual([basename(second.dir), "1"]);
  });

  it("prunes old versions and unknown names, and everything with all", async () => {
    const store = newStore();
    await store.ensure("debian:12");
    await store.ensure("debian:12-base");
    await mkdir(envDir("debian-12", "0", "rootfs"), { recursive: true });
    await mkdir(envDir("debian-11", "1", "rootfs"), { recursive: true });
    await writeFile(envDir("debian-11", "1", "rootfs", "x"), "12345");

    const current = [(await store.get("debian:12"))!.dir, (await store.get("debian:12-base"))!.dir];

    const some = await store.prune();
    expect(some.removedPaths.sort()).toEqual([envDir("debian-11", "1"), envDir("debian-12", "0")].sort());
    expect(some.freedBytes).toBe(5);
    expect(some.kept).toEqual([]);
    expect(await exists(envDir("debian-11"))).toBe(false);
    expect(await store.get("debian:12")).toBeDefined();

    const all = await store.prune({ all: true });
    expect(all.removedPaths.sort()).toEqual(current.sort());
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

  it("keeps a copy a live sandbox uses through prune --all, says so, and prunes it once released", async () => {
    const store = newStore();
    const env = await store.ensure("debian:12");
    const lease = (await store.lease(env, "sb-00000000a1", await self()))!;
    const r = await store.prune({ all: true });
    expect(r.removedPaths).toEqual([]);
    expect(r.kept).toEqual([{ path: env.dir, reason: expect.stringMatching(/in use by 1 running sandbox: sb-00000000a1 \(pid \d+\)/) }]);
    expect(await exists(join(env.rootfs, "usr/bin/su"))).toBe(true);
    expect(await store.get("debian:12")).toMatchObject({ dir: env.dir });
    await lease.release();
    expect((await store.prune({ all: true })).removedPaths).toEqual([env.dir]);
  });

  it("rebuilds a corrupt copy beside its users, and removes it when the last one leaves", async () => {
    const store = newStore();
    const env = await store.ensure("debian:12");
    const lease = (await store.lease(env, "sb-00000000b2", await self()))!;
    await writeFile(join(env.dir, "manifest.json"), "garbage");
    // A store reads a sound copy's manifest once; the next manager to start reads the garbage.
    const next = newStore();
    await expect(next.get("debian:12")).rejects.toMatchObject({ code: "environment_corrupt" });
    const rebuilt = await next.ensure("debian:12");
    expect(rebuilt.dir).not.toBe(env.dir);
    expect(await readlink(envDir("debian-12", "1"))).toBe(basename(rebuilt.dir));
    expect(await exists(join(env.rootfs, "usr/bin/su"))).toBe(true); // still there for its user
    await lease.release();
    expect(await exists(env.dir)).toBe(false);
    expect(await exists(rebuilt.rootfs)).toBe(true);
  });

  it("a lease follows the process it names: one whose process has gone holds nothing", async () => {
    const store = newStore();
    const env = await store.ensure("debian:12");
    const lease = (await store.lease(env, "sb-00000000c3", await self()))!;
    await lease.holdBy(await deadProcess()); // the sandbox's own process, which has ended
    const r = await store.prune({ all: true });
    expect(r.removedPaths).toEqual([env.dir]);
    expect(r.kept).toEqual([]);
  });

  it("never leases a copy that is gone or replaced, and clears a removal mark a crashed remover left", async () => {
    const store = newStore();
    const replaced = await store.ensure("debian:12");
    const env = await store.ensure("debian:12", { force: true });
    expect(await store.lease(replaced, "sb-00000000d3", await self())).toBeUndefined();
    await writeFile(join(env.dir, "users", ".removing"), "4242");
    const lease = await store.lease(env, "sb-00000000d4", await self());
    expect(lease).toBeDefined();
    expect(await exists(join(env.dir, "users", ".removing"))).toBe(false);
    await lease!.release();
    await store.prune({ all: true });
    expect(await store.lease(env, "sb-00000000e5", await self())).toBeUndefined();
  });

  it("two stores on one cache: one builds, the other waits for it and uses its copy, leaving its partial alone", async () => {
    const first = new FakeBuilder();
    const second = new FakeBuilder();
    first.hold();
    const a = newStore({ builder: first }).ensure("debian:12");
    let partial: string | undefined;
    for (let i = 0; i < 200 && !partial; i++) {
      partial = (await readdir(envDir("debian-12")).catch(() => [])).find((n) => n.startsWith(".partial-"));
      if (!partial) await new Promise((r) => setTimeout(r, 10));
    }
    expect(partial).toBeDefined();
    const events: EnsureProgress[] = [];
    const b = newStore({ builder: second }).ensure("debian:12", { onProgress: (e) => events.push(e) });
    await new Promise((r) => setTimeout(r, 300));
    expect(events.map((e) => e.message)).toEqual([expect.stringMatching(/waiting for another build of debian:12/)]);
    expect(await exists(envDir("debian-12", partial!))).toBe(true);
    expect(second.builds).toBe(0);
    first.open();
    const [ea, eb] = await Promise.all([a, b]);
    expect(eb.dir).toBe(ea.dir);
    expect(first.builds + second.builds).toBe(1);
    expect(events.at(-1)).toMatchObject({ phase: PullPhase.DONE, message: expect.stringContaining("another pyro manager") });
  });

  it("gives a copy of the old layout (a <version>/ directory) a copy name and a pointer", async () => {
    const env = await newStore().ensure("debian:12");
    await unlink(envDir("debian-12", "1"));
    await rm(join(env.dir, "users"), { recursive: true });
    await rename(env.dir, envDir("debian-12", "1"));
    const adopted = await newStore().get("debian:12");
    expect(adopted?.manifest).toEqual(env.manifest);
    expect(adopted!.dir).toMatch(/\/\.copy-1-[0-9a-f]{12}$/);
    expect(await readlink(envDir("debian-12", "1"))).toBe(basename(adopted!.dir));
    expect(builder.builds).toBe(1);
  });

  it("collect removes what a crash left and old copies nobody uses, never the current copy", async () => {
    const store = newStore();
    const old = await store.ensure("debian:12");
    const lease = (await store.lease(old, "sb-00000000f6", await self()))!;
    const current = await store.ensure("debian:12", { force: true });
    await mkdir(envDir("debian-12", ".partial-1-0123abcd", "rootfs"), { recursive: true });
    await mkdir(envDir("debian-12", ".trash-0123abcd"), { recursive: true });
    await newStore().collect();
    expect(await listing("debian-12")).toEqual([basename(old.dir), basename(current.dir), "1"].sort());
    const orphan = (await store.lease(current, "sb-00000000f7", await self()))!;
    await orphan.holdBy(await deadProcess()); // its manager was killed before it could release it
    await lease.holdBy(await deadProcess());
    await newStore().collect();
    expect(await listing("debian-12")).toEqual([basename(current.dir), "1"]);
    expect(await readdir(join(current.dir, "users"))).toEqual([]);
  });
});
