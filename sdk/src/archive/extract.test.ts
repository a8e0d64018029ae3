import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, type Header } from "tar-stream";
import { PyroError } from "../errors.js";
import { entryPath, extractTar, resolveLink } from "./extract.js";

const root = mkdtempSync(join(tmpdir(), "pyro-extract-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Entry = Partial<Header> & { name: string; body?: string };

/** A tar archive of `entries`, as bytes (whatever they say: this is how hostile archives are made). */
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => p.entry({ mode: 0o644, ...h, size: body === undefined ? 0 : Buffer.byteLength(body) }, body ?? "", (err) => (err ? reject(err) : resolve())));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function* chunksOf(buf: Buffer, size = 700): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

let n = 0;
let work: string;
let outside: string;
beforeEach(() => {
  work = join(root, `case-${++n}`);
  outside = join(work, "outside");
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, "keep.txt"), "mine");
});

/** Everything under `dir`, as relative paths. */
function tree(dir: string, prefix = ""): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    out.push(prefix + e.name);
    // Never into symlinks: an export may hold one to its own root.
    if (e.isDirectory()) out.push(...tree(join(dir, e.name), `${prefix}${e.name}/`));
  }
  return out.sort();
}

async function refused(entries: Entry[] | Buffer, message: RegExp, kind: "file" | "directory" = "directory") {
  const out = join(work, "out");
  const bytes = Buffer.isBuffer(entries) ? entries : await tarOf(entries);
  const err = await extractTar(chunksOf(bytes), out, { kind }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PyroError);
  expect((err as PyroError).code).toBe("unsafe_archive");
  expect((err as PyroError).message).toMatch(message);
  // Nothing of the export is left, and nothing outside it changed.
  expect(existsSync(out)).toBe(false);
  expect(tree(work)).toEqual(["outside", "outside/keep.txt"]);
  expect(readFileSync(join(outside, "keep.txt"), "utf8")).toBe("mine");
}

describe("extractTar: what it unpacks", () => {
  it("unpacks files, directories and inner symlinks with their permission bits (set-id bits dropped)", async () => {
    const out = join(work, "out");
    const bytes = await tarOf([
      { name: "./", type: "directory", mode: 0o750 },
      { name: "src/", type: "directory", mode: 0o755 },
      { name: "src/main.c", body: "int main;\n", mode: 0o644 },
      { name: "bin/run", body: "#!/bin/sh\n", mode: 0o4755 },
      { name: "docs/readme", body: "hi" },
      { name: "docs/link", type: "symlink", linkname: "../src/main.c" },
      { name: "here", type: "symlink", linkname: "." },
      { name: "empty", body: "" },
    ]);
    const r = await extractTar(chunksOf(bytes), out, { kind: "directory" });
    expect(r).toEqual({ files: 4, directories: 3, symlinks: 2, bytesWritten: 10 + 10 + 2 });
    expect(readFileSync(join(out, "src/main.c"), "utf8")).toBe("int main;\n");
    expect(statSync(join(out, "bin/run")).mode & 0o7777).toBe(0o755);
    expect(readlinkSync(join(out, "docs/link"))).toBe("../src/main.c");
    expect(readFileSync(join(out, "docs/link"), "utf8")).toBe("int main;\n");
    expect(statSync(out).mode & 0o777).toBe(0o750);
    expect(tree(out)).toEqual(["bin", "bin/run", "docs", "docs/link", "docs/readme", "empty", "here", "src", "src/main.c"]);
  });

  it("writes the one file of a file export at the output path, making missing parents", async () => {
    const out = join(work, "a", "b", "note.txt");
    const r = await extractTar(chunksOf(await tarOf([{ name: "note.txt", body: "hello\n", mode: 0o600 }])), out, { kind: "file" });
    expect(r).toEqual({ files: 1, directories: 0, symlinks: 0, bytesWritten: 6 });
    expect(readFileSync(out, "utf8")).toBe("hello\n");
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it("takes a directory listed twice, implicitly and then explicitly", async () => {
    const out = join(work, "out");
    await extractTar(chunksOf(await tarOf([{ name: "d/f", body: "x" }, { name: "d/", type: "directory", mode: 0o700 }])), out, { kind: "directory" });
    expect(statSync(join(out, "d")).mode & 0o777).toBe(0o700);
  });
});

describe("extractTar: a hostile archive writes nothing, anywhere", () => {
  it("refuses .. in names", () => refused([{ name: "ok", body: "1" }, { name: "../outside/evil", body: "x" }], /leads out of its directory/));
  it("refuses .. in the middle of a name", () => refused([{ name: "a/../../outside/evil", body: "x" }], /leads out/));
  it("refuses absolute names", () => refused([{ name: "/tmp/evil", body: "x" }], /absolute name/));
  it("refuses hard links", () => refused([{ name: "a", body: "x" }, { name: "b", type: "link", linkname: "a" }], /hard link/));
  it("refuses character devices", () => refused([{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }], /character-device/));
  it("refuses block devices", () => refused([{ name: "sda", type: "block-device", devmajor: 8, devminor: 0 }], /block-device/));
  it("refuses fifos", () => refused([{ name: "p", type: "fifo" }], /fifo/));
  it("refuses a symlink to an absolute path", () => refused([{ name: "l", type: "symlink", linkname: "/etc/passwd" }], /points outside/));
  it("refuses a symlink that climbs out", () => refused([{ name: "d/l", type: "symlink", linkname: "../../outside" }], /points outside/));
  it("refuses writing through a symlink, even one that stays inside", () =>
    refused([{ name: "sub/", type: "directory" }, { name: "l", type: "symlink", linkname: "sub" }, { name: "l/x", body: "x" }], /lies under a symlink/));
  it("refuses a file under a file", () => refused([{ name: "f", body: "x" }, { name: "f/g", body: "y" }], /lies under a file/));
  it("refuses a name seen twice", () => refused([{ name: "f", body: "x" }, { name: "f", body: "y" }], /appears twice/));
  it("refuses a symlink that replaces a directory", () => refused([{ name: "d/", type: "directory" }, { name: "d", type: "symlink", linkname: "." }], /appears twice/));
  it("refuses links that only escape when followed through another link", () =>
    // Lexically a/a/../.. is the export itself; but a is the export too, so it leads one level above it.
    refused([{ name: "a", type: "symlink", linkname: "." }, { name: "b", type: "symlink", linkname: "a/a/../.." }], /symlink "b" points outside/));
  it("refuses a link that a later entry turns outward", () =>
    // When l is made, d/x/../.. is the export itself; once d is a link to ".", it is the export's parent.
    refused([{ name: "l", type: "symlink", linkname: "d/x/../.." }, { name: "d", type: "symlink", linkname: "." }], /symlink "l" points outside/));
  it("refuses symlink loops", () => refused([{ name: "a", type: "symlink", linkname: "b" }, { name: "b", type: "symlink", linkname: "a" }], /points outside/));
  it("refuses bytes that are not a tar archive", () => refused(Buffer.from("this is not a tar archive at all, just text".repeat(30)), /not a valid tar stream/));
  it("refuses a truncated archive", async () => {
    const bytes = await tarOf([{ name: "big", body: "x".repeat(5000) }]);
    await refused(bytes.subarray(0, 2048), /not a valid tar stream/);
  });
  it("refuses a file export that holds a directory, a link, or two files", async () => {
    await refused([{ name: "d/", type: "directory" }], /more than one regular file/, "file");
    await refused([{ name: "l", type: "symlink", linkname: "x" }], /more than one regular file/, "file");
    await refused([{ name: "a", body: "1" }, { name: "b", body: "2" }], /more than one regular file/, "file");
    await refused([], /no regular file/, "file");
  });
  it("refuses a directory export whose root entry is not a directory", () => refused([{ name: "./", body: "x" }], /replaces the exported directory/));

  it("removes the parents it made, and only those, when it fails", async () => {
    const out = join(work, "new", "deeper", "out");
    await expect(extractTar(chunksOf(await tarOf([{ name: "a", body: "1" }, { name: "../x", body: "2" }])), out, { kind: "directory" })).rejects.toMatchObject({ code: "unsafe_archive" });
    expect(existsSync(join(work, "new"))).toBe(false);
    expect(existsSync(outside)).toBe(true);
  });

  it("never touches an output path that exists", async () => {
    for (const kind of ["file", "directory"] as const) {
      const out = join(outside, "keep.txt");
      await expect(extractTar(chunksOf(await tarOf([{ name: "keep.txt", body: "evil" }])), out, { kind })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("already exists") });
      expect(readFileSync(out, "utf8")).toBe("mine");
    }
    // A dangling symlink is a path that exists too.
    const link = join(work, "dangling");
    await import("node:fs/promises").then((fs) => fs.symlink(join(outside, "nothing"), link));
    await expect(extractTar(chunksOf(await tarOf([{ name: "x", body: "evil" }])), link, { kind: "file" })).rejects.toMatchObject({ code: "invalid_argument" });
    expect(existsSync(join(outside, "nothing"))).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it("passes the source's own failure on, and cleans up", async () => {
    const out = join(work, "out");
    const bytes = await tarOf([{ name: "a", body: "1".repeat(3000) }, { name: "b", body: "2".repeat(3000) }]);
    const boom = new PyroError("manager_unavailable", "lost");
    async function* failing() {
      yield bytes.subarray(0, 1536);
      throw boom;
    }
    await expect(extractTar(failing(), out, { kind: "directory" })).rejects.toBe(boom);
    expect(existsSync(out)).toBe(false);
  });

  it("stops when cancelled, and cleans up", async () => {
    const out = join(work, "out");
    const ac = new AbortController();
    const bytes = await tarOf([{ name: "a", body: "1".repeat(3000) }]);
    async function* slow() {
      yield bytes.subarray(0, 1024);
      ac.abort();
      await new Promise((r) => setTimeout(r, 20));
      yield bytes.subarray(1024);
    }
    await expect(extractTar(slow(), out, { kind: "directory", signal: ac.signal })).rejects.toMatchObject({ code: "cancelled" });
    expect(existsSync(out)).toBe(false);
  });
});

describe("helpers", () => {
  it("entryPath normalizes . and empty parts and refuses the rest", () => {
    expect(entryPath("./a//b/./c")).toEqual(["a", "b", "c"]);
    expect(entryPath("./")).toEqual([]);
    expect(() => entryPath("a/..")).toThrow(/leads out/);
    expect(() => entryPath("/a")).toThrow(/absolute/);
  });

  it("resolveLink follows the archive's links as the kernel would", () => {
    const t = new Map([
      ["a", { kind: "symlink" as const, target: "." }],
      ["d", { kind: "symlink" as const, target: "x/y" }],
    ]);
    expect(resolveLink(t, [], "a/a/b")).toEqual(["b"]);
    expect(resolveLink(t, [], "d/..")).toEqual(["x"]);
    expect(resolveLink(t, ["q"], "../d/../..")).toEqual([]);
    expect(resolveLink(t, [], "a/..")).toBeNull();
    expect(resolveLink(new Map([["l", { kind: "symlink" as const, target: "l" }]]), [], "l")).toBeNull();
  });
});
