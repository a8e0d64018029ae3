import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractTar } from "./extract.js";
import { archiveSource, packDirectory } from "./pack.js";

const root = mkdtempSync(join(tmpdir(), "pyro-pack-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of source) out.push(c);
  return out;
}

describe("packDirectory", () => {
  const src = join(root, "src");
  mkdirSync(join(src, "sub", "deep"), { recursive: true });
  writeFileSync(join(src, "a.txt"), "alpha\n");
  writeFileSync(join(src, "sub", "big.bin"), Buffer.alloc(200_000, 7));
  writeFileSync(join(src, "sub", "deep", "empty"), "");
  writeFileSync(join(src, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
  symlinkSync("../a.txt", join(src, "sub", "link"));
  mkdirSync(join(src, "x".repeat(90), "y".repeat(90)), { recursive: true });
  writeFileSync(join(src, "x".repeat(90), "y".repeat(90), "long-name-file.txt"), "long");

  it("packs files, directories and symlinks that unpack to the same tree, in chunks the wire takes", async () => {
    const source = await archiveSource(src, "seed_path");
    expect(source).toMatchObject({ compression: "none", from: "directory" });
    const chunks = await collect(source.chunks());
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(64 << 10);
    const out = join(root, "out");
    const r = await extractTar((async function* () { yield* chunks; })(), out, { kind: "directory" });
    expect(r).toMatchObject({ files: 5, symlinks: 1, bytesWritten: 6 + 200_000 + 10 + 4 });
    expect(readFileSync(join(out, "a.txt"), "utf8")).toBe("alpha\n");
    expect(readFileSync(join(out, "sub", "big.bin")).equals(Buffer.alloc(200_000, 7))).toBe(true);
    expect(readlinkSync(join(out, "sub", "link"))).toBe("../a.txt");
    expect(statSync(join(out, "run.sh")).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(out, "x".repeat(90), "y".repeat(90), "long-name-file.txt"), "utf8")).toBe("long");
  });

  it("is read by GNU tar too", async () => {
    const file = join(root, "packed.tar");
    writeFileSync(file, Buffer.concat(await collect(packDirectory(src))));
    const list = execFileSync("tar", ["-tf", file], { encoding: "utf8" }).split("\n").filter(Boolean).sort();
    expect(list).toEqual(expect.arrayContaining(["a.txt", "sub/", "sub/big.bin", "sub/link", `${"x".repeat(90)}/${"y".repeat(90)}/long-name-file.txt`]));
  });

  it("refuses what is not a file, directory or symlink", async () => {
    const odd = join(root, "odd");
    mkdirSync(odd);
    execFileSync("mkfifo", [join(odd, "pipe")]);
    await expect(collect(packDirectory(odd))).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("socket, fifo or device") });
  });

  it("stops reading the directory when the consumer stops", async () => {
    const it = packDirectory(src)[Symbol.asyncIterator]();
    await it.next();
    await expect(it.return?.(undefined)).resolves.toMatchObject({ done: true });
  });
});

describe("archiveSource", () => {
  it("streams .tar, .tar.gz and .tgz files as they are, saying how they are compressed", async () => {
    for (const [name, compression] of [["s.tar", "none"], ["s.tar.gz", "gzip"], ["s.TGZ", "gzip"]] as const) {
      const path = join(root, name);
      writeFileSync(path, Buffer.alloc(150_000, 1));
      const source = await archiveSource(path, "seed_path");
      expect(source).toMatchObject({ compression, from: "archive" });
      const chunks = await collect(source.chunks());
      expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(150_000);
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(64 << 10);
    }
  });

  it("refuses other files, and paths that do not exist", async () => {
    writeFileSync(join(root, "notes.zip"), "x");
    await expect(archiveSource(join(root, "notes.zip"), "seed_path")).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("neither a directory nor a .tar") });
    await expect(archiveSource(join(root, "nope"), "seed_path")).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("cannot be read: ENOENT") });
  });
});
