import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmod, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { treeDigest } from "./digest.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-digest-test-"));
  await mkdir(join(dir, "etc"));
  await mkdir(join(dir, "usr/bin"), { recursive: true });
  await writeFile(join(dir, "etc/hostname"), "sandbox\n");
  await writeFile(join(dir, "usr/bin/tool"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  await writeFile(join(dir, "big"), Buffer.alloc(3 << 20, 7)); // read as a stream
  await symlink("/usr/bin", join(dir, "bin"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("treeDigest", () => {
  it("is stable and counts files and bytes", async () => {
    const a = await treeDigest(dir);
    const b = await treeDigest(dir);
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toEqual(a);
    expect(a.fileCount).toBe(7); // etc, etc/hostname, usr, usr/bin, usr/bin/tool, big, bin
    expect(a.sizeBytes).toBe(8 + 18 + (3 << 20));
  });

  it("ignores timestamps", async () => {
    const before = (await treeDigest(dir)).digest;
    await writeFile(join(dir, "etc/hostname"), "sandbox\n"); // same content, new mtime
    expect((await treeDigest(dir)).digest).toBe(before);
  });

  it("changes when a file's content changes", async () => {
    const before = (await treeDigest(dir)).digest;
    await writeFile(join(dir, "etc/hostname"), "sandbox!\n");
    expect((await treeDigest(dir)).digest).not.toBe(before);
  });

  it("changes when a big file's content changes", async () => {
    const before = (await treeDigest(dir)).digest;
    const data = Buffer.alloc(3 << 20, 7);
    data[2 << 20] = 8;
    await writeFile(join(dir, "big"), data);
    expect((await treeDigest(dir)).digest).not.toBe(before);
  });

  it("changes when a mode changes", async () => {
    const before = (await treeDigest(dir)).digest;
    await chmod(join(dir, "usr/bin/tool"), 0o644);
    expect((await treeDigest(dir)).digest).not.toBe(before);
  });

  it("changes when a symlink's target changes, without following it", async () => {
    const before = (await treeDigest(dir)).digest;
    await unlink(join(dir, "bin"));
    await symlink("/usr/sbin", join(dir, "bin")); // dangling: never followed
    expect((await treeDigest(dir)).digest).not.toBe(before);
  });

  it("changes when an entry is renamed or added", async () => {
    const before = (await treeDigest(dir)).digest;
    await writeFile(join(dir, "etc/empty"), "");
    const added = (await treeDigest(dir)).digest;
    expect(added).not.toBe(before);
    await unlink(join(dir, "etc/empty"));
    await writeFile(join(dir, "etc/empty2"), "");
    expect((await treeDigest(dir)).digest).not.toBe(added);
  });
});
