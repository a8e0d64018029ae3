import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { PyroError } from "../../../sdk/src/errors.js";
import { extractExport } from "./extract-export.js";

type Entry = Parameters<ReturnType<typeof pack>["entry"]>[0] & { data?: string };

/** A tar archive of `entries`, made by tar-stream (which writes whatever names it is given). */
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { data, ...header } of entries) p.entry(header, data ?? "");
  p.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of p) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** One ustar header block, written by hand: for what no honest tar writer makes (sizes past the data). */
function rawHeader(name: string, size: number, typeflag = "0"): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write("0000644\0", 100);
  b.write("0000000\0", 108);
  b.write("0000000\0", 116);
  b.write(size.toString(8).padStart(11, "0") + "\0", 124);
  b.write("00000000000\0", 136);
  b.write("        ", 148);
  b.write(typeflag, 156);
  b.write("ustar\0" + "00", 257);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return b;
}

async function* chunksOf(buf: Buffer, size = 1000): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

let dir: string;
let n = 0;
const fresh = () => join(dir, `out-${++n}`);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pyro-extract-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("extractExport", () => {
  it("unpacks a directory: files with their modes, directories, symlinks inside", async () => {
    const out = fresh();
    const archive = await tarOf([
      { name: "src/", type: "directory", mode: 0o755 },
      { name: "src/main.py", data: "print(1)\n", mode: 0o644 },
      { name: "run.sh", data: "#!/bin/sh\n", mode: 0o755 },
      { name: "src/deep/", type: "directory" },
      { name: "src/deep/up", type: "symlink", linkname: "../main.py" },
      { name: "link-to-src", type: "symlink", linkname: "./src" },
      { name: "nested/auto/made.txt", data: "x" }, // parents without entries of their own
    ]);
    const r = await extractExport(chunksOf(archive), out, { type: "directory" });
    expect(r).toEqual({ files: 3, directories: 4, symlinks: 2, bytes: 20 });
    expect(readFileSync(join(out, "src/main.py"), "utf8")).toBe("print(1)\n");
    expect(statSync(join(out, "run.sh")).mode & 0o111).not.toBe(0);
    expect(readlinkSync(join(out, "src/deep/up"))).toBe("../main.py");
    expect(readFileSync(join(out, "src/deep/up"), "utf8")).toBe("print(1)\n");
    expect(readFileSync(join(out, "nested/auto/made.txt"), "utf8")).toBe("x");
  });

  it("unpacks a file's export at the output path itself", async () => {
    const out = fresh();
    const r = await extractExport(chunksOf(await tarOf([{ name: "notes.txt", data: "hello" }])), out, { type: "file" });
    expect(r).toMatchObject({ files: 1, bytes: 5 });
    expect(readFileSync(out, "utf8")).toBe("hello");
  });

  it("never overwrites: an existing output (even a dangling symlink) is refused, and a missing parent too", async () => {
    const out = fresh();
    writeFileSync(out, "mine");
    await expect(extractExport(chunksOf(await tarOf([{ name: "a", data: "x" }])), out, { type: "directory" })).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("already exists"),
    });
    expect(readFileSync(out, "utf8")).toBe("mine");
    await expect(extractExport(chunksOf(await tarOf([])), join(dir, "no", "such", "dir"), { type: "directory" })).rejects.toMatchObject({
      code: "invalid_argument",
    });
  });

  const hostile: [string, () => Promise<Buffer>, string][] = [
    ["`..` in a name", () => tarOf([{ name: "../x", data: "pwned" }]), "`..`"],
    ["`..` deeper in a name", () => tarOf([{ name: "a/../../x", data: "pwned" }]), "`..`"],
    ["an absolute name", () => tarOf([{ name: "/etc/x", data: "pwned" }]), "absolute"],
    ["a symlink to an absolute path", () => tarOf([{ name: "l", type: "symlink", linkname: "/etc" }]), "leads out"],
    ["a symlink that climbs out", () => tarOf([{ name: "a/l", type: "symlink", linkname: "../../x" }]), "leads out"],
    ["a symlink with `..` after a name", () => tarOf([{ name: "a/l", type: "symlink", linkname: "b/../../x" }]), "leads out"],
    [
      "a symlink out, then a file through it",
      () => tarOf([{ name: "l", type: "symlink", linkname: "../../../../tmp" }, { name: "l/pwned", data: "x" }]),
      "leads out",
    ],
    [
      "a file through a symlink that stays inside",
      () => tarOf([{ name: "sub/", type: "directory" }, { name: "l", type: "symlink", linkname: "sub" }, { name: "l/x", data: "x" }]),
      "below the symlink",
    ],
    ["a hard link to /etc/passwd", () => tarOf([{ name: "passwd", type: "link", linkname: "/etc/passwd" }]), "hard link"],
    ["a hard link inside", () => tarOf([{ name: "a", data: "x" }, { name: "b", type: "link", linkname: "a" }]), "hard link"],
    ["a character device", () => tarOf([{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }]), "character-device"],
    ["a block device", () => tarOf([{ name: "sda", type: "block-device", devmajor: 8, devminor: 0 }]), "block-device"],
    ["a fifo", () => tarOf([{ name: "pipe", type: "fifo" }]), "fifo"],
    ["a name of 5000 bytes", () => tarOf([{ name: "a/".repeat(2500), type: "directory" }]), "longer than 4096"],
    ["a name part of 300 bytes", () => tarOf([{ name: "x".repeat(300), data: "x" }]), "longer than 255"],
    ["the same entry twice", () => tarOf([{ name: "a", data: "x" }, { name: "a", type: "symlink", linkname: "b" }]), "twice"],
    ["a file below a file", () => tarOf([{ name: "a", data: "x" }, { name: "a/b", data: "y" }]), "not a directory"],
    ["bytes that are no tar", async () => Buffer.alloc(2048, 0x41), "damaged"],
  ];
  it.each(hostile)("refuses %s with unsafe_archive, naming it, and removes what it made", async (_what, make, why) => {
    const out = fresh();
    const err = await extractExport(chunksOf(await make()), out, { type: "directory" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyroError);
    expect(err).toMatchObject({ code: "unsafe_archive", message: expect.stringContaining(why) });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, "x"))).toBe(false);
    expect(existsSync("/tmp/pwned")).toBe(false);
  });

  it("removes only what it made: what was there before stays", async () => {
    const keep = join(dir, "keep.txt");
    writeFileSync(keep, "keep");
    const out = fresh();
    const archive = await tarOf([{ name: "a/b/c.txt", data: "x" }, { name: "d", type: "fifo" }]);
    await expect(extractExport(chunksOf(archive), out, { type: "directory" })).rejects.toMatchObject({ code: "unsafe_archive" });
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(keep, "utf8")).toBe("keep");
  });

  it("refuses a huge declared size before reading it", async () => {
    const out = fresh();
    // The source then sends nothing more, as a guest might: the refusal does not wait for it.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield Buffer.concat([rawHeader("big", 2 ** 32), Buffer.alloc(512, 0x61)]);
      await released;
    }
    await expect(extractExport(stalls(), out, { type: "directory", limits: { maxBytes: 1 << 20 } })).rejects.toMatchObject({
      code: "too_large",
      message: expect.stringContaining('"big"'),
    });
    release();
    expect(existsSync(out)).toBe(false);
    // Declared, then cut short: damaged.
    const cut = Buffer.concat([rawHeader("cut", 4096), Buffer.alloc(512, 0x61)]);
    await expect(extractExport(chunksOf(cut), fresh(), { type: "directory" })).rejects.toMatchObject({ code: "unsafe_archive" });
    // A pax size no file has: refused as it is read, whatever the limit.
    const pax = await tarOf([{ name: "p", data: "x", pax: { size: "99999999999999999999" } } as Entry]);
    await expect(extractExport(chunksOf(pax), fresh(), { type: "directory" })).rejects.toMatchObject({ code: "unsafe_archive" });
  });

  it("bounds entries and total bytes", async () => {
    const many = await tarOf(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: "x" })));
    await expect(extractExport(chunksOf(many), fresh(), { type: "directory", limits: { maxEntries: 3 } })).rejects.toMatchObject({ code: "too_large" });
    const big = await tarOf([{ name: "a", data: "x".repeat(600) }, { name: "b", data: "y".repeat(600) }]);
    await expect(extractExport(chunksOf(big), fresh(), { type: "directory", limits: { maxBytes: 1000 } })).rejects.toMatchObject({ code: "too_large" });
  });

  it("refuses anything but one regular file in a file's export", async () => {
    await expect(extractExport(chunksOf(await tarOf([{ name: "a", data: "x" }, { name: "b", data: "y" }])), fresh(), { type: "file" })).rejects.toMatchObject({
      code: "unsafe_archive",
    });
    await expect(extractExport(chunksOf(await tarOf([{ name: "d/", type: "directory" }])), fresh(), { type: "file" })).rejects.toMatchObject({ code: "unsafe_archive" });
    await expect(extractExport(chunksOf(await tarOf([{ name: "l", type: "symlink", linkname: "x" }])), fresh(), { type: "file" })).rejects.toMatchObject({
      code: "unsafe_archive",
    });
    await expect(extractExport(chunksOf(await tarOf([])), fresh(), { type: "file" })).rejects.toMatchObject({ code: "unsafe_archive" });
  });

  it("passes the source's own error on, and removes what it made", async () => {
    const out = fresh();
    const good = await tarOf([{ name: "a/b.txt", data: "x".repeat(5000) }]);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield good.subarray(0, 1536);
      throw new PyroError("sandbox_failed", "the agent went away");
    }
    await expect(extractExport(failing(), out, { type: "directory" })).rejects.toMatchObject({ code: "sandbox_failed" });
    expect(existsSync(out)).toBe(false);
  });

  it("streams: a large file goes through in small chunks", async () => {
    const out = fresh();
    const data = "z".repeat(3 << 20);
    const r = await extractExport(chunksOf(await tarOf([{ name: "big.txt", data }]), 4096), out, { type: "directory" });
    expect(r.bytes).toBe(data.length);
    expect(statSync(join(out, "big.txt")).size).toBe(data.length);
    expect(readdirSync(out)).toEqual(["big.txt"]);
    expect(lstatSync(out).isDirectory()).toBe(true);
  });
});

