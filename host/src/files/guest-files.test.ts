/**
 * GuestFiles against the real agent served in-process on a temporary workspace (every RPC,
 * real gRPC over a real socket), and against hostile fake agents (every reply check).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import type { Http2Server } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { pack } from "tar-stream";
import { FileService, FileType, FileEntrySchema } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { PyroError, toConnectError } from "../../../sdk/src/errors.js";
import { unixTransport, type UnixTransport } from "../../../sdk/src/transport.js";
import { BASE_ENV } from "../../../guest/src/exec.js";
import { serveAgent } from "../../../guest/src/server.js";
import { silentLogger } from "../logger.js";
import { exportToHost } from "./testing-export.js";
import { GuestFiles } from "./guest-files.js";

let top: string;
let ws: string;
let server: Http2Server;
let conn: UnixTransport;
let files: GuestFiles;

beforeAll(async () => {
  top = mkdtempSync(join(tmpdir(), "pyro-guest-files-"));
  ws = join(top, "workspace");
  mkdirSync(ws);
  writeFileSync(join(top, "secret"), "secret");
  server = await serveAgent({ socketPath: join(top, "agent.sock") }, { workspaceDir: ws, baseEnv: BASE_ENV });
  conn = unixTransport(join(top, "agent.sock"));
  files = new GuestFiles(createClient(FileService, conn.transport), { sandbox: "sb-test", log: silentLogger });
});
afterAll(() => {
  conn.close();
  server.close();
  rmSync(top, { recursive: true, force: true });
});

async function tarOf(entries: (Parameters<ReturnType<typeof pack>["entry"]>[0] & { data?: string })[]): Promise<Buffer> {
  const p = pack();
  for (const { data, ...header } of entries) p.entry(header, data ?? "");
  p.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of p) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function* once(buf: Uint8Array): AsyncGenerator<Uint8Array> {
  yield buf;
}

describe("GuestFiles on a real agent", () => {
  it("writes text atomically, making parents, and reads it back", async () => {
    expect(await files.writeText("src/app/main.py", "print('héllo')\n")).toEqual({ path: "src/app/main.py", bytesWritten: 16 });
    expect(readFileSync(join(ws, "src/app/main.py"), "utf8")).toBe("print('héllo')\n");
    expect(await files.readText("/workspace/src/app/main.py")).toEqual({ content: "print('héllo')\n", sizeBytes: 16, truncated: false });
    expect(statSync(join(ws, "src/app/main.py")).mode & 0o777).toBe(0o644);
  });

  it("keeps an existing file's mode, and writes through a symlink that stays inside to its target", async () => {
    writeFileSync(join(ws, "run.sh"), "old");
    chmodSync(join(ws, "run.sh"), 0o750);
    symlinkSync("run.sh", join(ws, "run-link"));
    expect(await files.writeText("run-link", "#!/bin/sh\n")).toMatchObject({ path: "run.sh" });
    expect(statSync(join(ws, "run.sh")).mode & 0o777).toBe(0o750);
    expect(readlinkSync(join(ws, "run-link"))).toBe("run.sh");
    expect(readFileSync(join(ws, "run.sh"), "utf8")).toBe("#!/bin/sh\n");
  });

  it("reads at most max_bytes, and leaves out a character cut by the bound", async () => {
    await files.writeText("long.txt", "ééé"); // 6 bytes
    expect(await files.readText("long.txt", { maxBytes: 3 })).toEqual({ content: "é", sizeBytes: 6, truncated: true });
    expect(await files.readText("long.txt", { maxBytes: 4 })).toEqual({ content: "éé", sizeBytes: 6, truncated: true });
    await expect(files.readText("long.txt", { maxBytes: 0 })).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("refuses binary and non-text input with not_text, and big text with too_large", async () => {
    writeFileSync(join(ws, "blob.bin"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe]));
    writeFileSync(join(ws, "nul.txt"), "a\0b");
    await expect(files.readText("blob.bin")).rejects.toMatchObject({ code: "not_text", hint: expect.stringContaining("export") });
    await expect(files.readText("nul.txt")).rejects.toMatchObject({ code: "not_text" });
    await expect(files.writeText("x.txt", "a\0b")).rejects.toMatchObject({ code: "not_text" });
    await expect(files.writeText("x.txt", "bad \ud800 surrogate")).rejects.toMatchObject({ code: "not_text" });
    await expect(files.writeText("x.txt", "x".repeat((1 << 20) + 1))).rejects.toMatchObject({ code: "too_large" });
    expect(existsSync(join(ws, "x.txt"))).toBe(false);
  });

  it("maps missing files, directories and files used as directories", async () => {
    await expect(files.readText("nope.txt")).rejects.toMatchObject({ code: "file_not_found", message: expect.stringContaining("nope.txt") });
    await expect(files.readText("src")).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("directory") });
    await expect(files.writeText("src", "x")).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(files.writeText("long.txt/x", "x")).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(files.list("nope")).rejects.toMatchObject({ code: "file_not_found" });
  });

  it("lists a directory, or everything below it, without following symlinks", async () => {
    mkdirSync(join(ws, "tree/a/b"), { recursive: true });
    writeFileSync(join(ws, "tree/a/b/f.txt"), "12345");
    symlinkSync("/etc", join(ws, "tree/etc-link"));
    const top1 = await files.list("tree");
    expect(top1).toEqual({
      path: "tree",
      truncated: false,
      entries: [
        { path: "tree/a", type: "directory", sizeBytes: 0, mode: expect.any(Number), linkTarget: "" },
        { path: "tree/etc-link", type: "symlink", sizeBytes: 0, mode: expect.any(Number), linkTarget: "/etc" },
      ],
    });
    const all = await files.list("tree", { recursive: true });
    expect(all.entries.map((e) => e.path)).toEqual(["tree/a", "tree/a/b", "tree/a/b/f.txt", "tree/etc-link"]);
    expect(all.entries[2]).toMatchObject({ type: "file", sizeBytes: 5 });
    const cut = await files.list("tree", { recursive: true, maxEntries: 2 });
    expect(cut).toMatchObject({ truncated: true });
    expect(cut.entries).toHaveLength(2);
    expect((await files.list("tree/a/b/f.txt")).entries).toMatchObject([{ path: "tree/a/b/f.txt", type: "file" }]);
    expect((await files.list("")).entries.map((e) => e.path)).toContain("tree");
  });

  it("stats without following, and removes files, symlinks and empty directories", async () => {
    expect(await files.stat("tree/etc-link")).toMatchObject({ type: "symlink", linkTarget: "/etc" });
    expect(await files.stat("tree/a/b/f.txt")).toMatchObject({ type: "file", sizeBytes: 5 });
    expect(await files.stat("tree/none")).toBeUndefined();
    expect(await files.remove("tree/etc-link")).toBe(true);
    expect(existsSync("/etc/passwd")).toBe(true);
    expect(await files.remove("tree/etc-link")).toBe(false);
    await expect(files.remove("tree/a")).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("not empty") });
    expect(await files.remove("tree/a/b/f.txt")).toBe(true);
    expect(await files.remove("tree/a/b")).toBe(true);
    await expect(files.remove("")).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("exports a directory and a file to the host, symlinks as symlinks", async () => {
    mkdirSync(join(ws, "proj/lib"), { recursive: true });
    writeFileSync(join(ws, "proj/lib/x.js"), "x");
    writeFileSync(join(ws, "proj/data.bin"), Buffer.alloc(300_000, 7));
    symlinkSync("lib/x.js", join(ws, "proj/entry.js"));
    const out = join(top, "exported");
    expect(await exportToHost(files, "proj", out)).toMatchObject({ type: "directory", path: "proj", files: 2, symlinks: 1, bytesWritten: 300_001 });
    expect(readlinkSync(join(out, "entry.js"))).toBe("lib/x.js");
    expect(readFileSync(join(out, "data.bin")).equals(Buffer.alloc(300_000, 7))).toBe(true);
    const one = join(top, "one.js");
    expect(await exportToHost(files, "proj/entry.js", one)).toMatchObject({ type: "file", path: "proj/lib/x.js", files: 1 });
    expect(readFileSync(one, "utf8")).toBe("x");
  });

  it("round-trips long and non-ASCII names and long link targets (pax headers)", async () => {
    const deep = `${"d".repeat(120)}/${"é".repeat(100)}/${"n".repeat(200)}.txt`;
    mkdirSync(join(ws, "names", deep, ".."), { recursive: true });
    writeFileSync(join(ws, "names", deep), "deep");
    symlinkSync(`./${deep}`, join(ws, "names", "long-link"));
    const out = join(top, "names-out");
    expect(await exportToHost(files, "names", out)).toMatchObject({ files: 1, symlinks: 1 });
    expect(readFileSync(join(out, deep), "utf8")).toBe("deep");
    expect(readlinkSync(join(out, "long-link"))).toBe(`./${deep}`);
    const back = await tarOf([{ name: `again/${deep}`, data: "again" }]);
    expect(await files.importArchive("names", once(back))).toMatchObject({ files: 1 });
    expect(readFileSync(join(ws, "names/again", deep), "utf8")).toBe("again");
  });

  it("stops an export the consumer leaves, and answers the next call", async () => {
    mkdirSync(join(ws, "many"));
    for (let i = 0; i < 40; i++) writeFileSync(join(ws, "many", `f${i}`), Buffer.alloc(100_000, i));
    const exp = await files.exportArchive("many");
    for await (const chunk of exp.chunks) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(await files.stat("many/f0")).toMatchObject({ type: "file", sizeBytes: 100_000 });
  });

  it("imports plain and gzip archives, counting what it made", async () => {
    const archive = await tarOf([
      { name: "./", type: "directory" },
      { name: "./pkg/", type: "directory", mode: 0o755 },
      { name: "./pkg/a.txt", data: "aaa", mode: 0o600 },
      { name: "./pkg/b.txt", type: "link", linkname: "pkg/a.txt" },
      { name: "./pkg/up", type: "symlink", linkname: "../seeded" },
    ]);
    expect(await files.importArchive("seeded", once(archive))).toEqual({ files: 1, directories: 1, symlinks: 1, hardLinks: 1, bytesWritten: 3 });
    expect(readFileSync(join(ws, "seeded/pkg/b.txt"), "utf8")).toBe("aaa");
    expect(statSync(join(ws, "seeded/pkg/a.txt")).mode & 0o777).toBe(0o600);
    expect(await files.importArchive("", once(gzipSync(await tarOf([{ name: "gz.txt", data: "gz" }]))), { gzip: true })).toMatchObject({ files: 1 });
    expect(readFileSync(join(ws, "gz.txt"), "utf8")).toBe("gz");
    await expect(files.importArchive("", once(Buffer.from("not a tar at all".repeat(64))))).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("refuses hostile archive entries on import, naming them", async () => {
    const cases: [Parameters<typeof tarOf>[0], string, string][] = [
      [[{ name: "../evil", data: "x" }], "path_outside_workspace", "../evil"],
      [[{ name: "/etc/evil", data: "x" }], "path_outside_workspace", "/etc/evil"],
      [[{ name: "out", type: "symlink", linkname: "../../.." }], "path_outside_workspace", "out"],
      [[{ name: "abs", type: "symlink", linkname: "/etc" }], "path_outside_workspace", "abs"],
      [[{ name: "pw", type: "link", linkname: "/etc/passwd" }], "path_outside_workspace", "pw"],
      [[{ name: "pw2", type: "link", linkname: "../../../etc/passwd" }], "path_outside_workspace", "pw2"],
      [[{ name: "in", type: "symlink", linkname: "." }, { name: "in/through", data: "x" }], "path_outside_workspace", "in/through"],
      [[{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }], "unsafe_archive", "null"],
      [[{ name: "fifo", type: "fifo" }], "unsafe_archive", "fifo"],
    ];
    for (const [entries, code, name] of cases) {
      const err = await files.importArchive("hostile", once(await tarOf(entries))).catch((e: unknown) => e);
      expect(err, name).toMatchObject({ code, message: expect.stringContaining(JSON.stringify(name)) });
    }
    expect(existsSync(join(top, "evil"))).toBe(false);
    // An existing symlink in the workspace that leads out is never written through.
    symlinkSync(top, join(ws, "hostile/escape"));
    const err = await files.importArchive("hostile", once(await tarOf([{ name: "escape/secret", data: "pwned" }]))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "path_outside_workspace" });
    expect(readFileSync(join(top, "secret"), "utf8")).toBe("secret");
  });

  it("answers a refused import at once, even while the archive is still coming", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const hostile = await tarOf([{ name: "../evil", data: "x" }]);
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield hostile.subarray(0, 1024);
      await released;
    }
    await expect(files.importArchive("", stalls())).rejects.toMatchObject({ code: "path_outside_workspace" });
    release();
  });

  it("refuses an import that sends a second header", async () => {
    const raw = createClient(FileService, conn.transport);
    async function* twoHeaders() {
      yield { part: { case: "header" as const, value: { dest: "" } } };
      yield { part: { case: "header" as const, value: { dest: "" } } };
    }
    await expect(raw.importArchive(twoHeaders())).rejects.toMatchObject({ rawMessage: expect.stringContaining("one header") });
  });

  it("refuses every way out of /workspace with path_outside_workspace", async () => {
    symlinkSync(top, join(ws, "escape-dir"));
    symlinkSync(join(top, "secret"), join(ws, "escape-file"));
    const ways = ["../secret", "/etc/passwd", "escape-file", "escape-dir/secret", "src/../../secret", "/workspace/../secret"];
    for (const p of ways) {
      await expect(files.readText(p), `read ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.writeText(p, "pwned"), `write ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.list(p), `list ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.exportArchive(p), `export ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.importArchive(p, once(await tarOf([{ name: "x", data: "x" }]))), `import ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
    }
    expect(readFileSync(join(top, "secret"), "utf8")).toBe("secret");
  });
});

/** GuestFiles over a fake agent that answers with `impl`. */
function fake(impl: Partial<ServiceImpl<typeof FileService>>): GuestFiles {
  const transport = createRouterTransport(({ service }) => service(FileService, impl));
  return new GuestFiles(createClient(FileService, transport), { sandbox: "sb-fake", log: silentLogger });
}

const entry = (path: string, extra: Partial<{ type: FileType; sizeBytes: bigint; mode: number; linkTarget: string }> = {}) =>
  create(FileEntrySchema, { path, type: FileType.FILE, mode: 0o644, ...extra });

describe("GuestFiles against a hostile agent", () => {
  it.each([
    ["an entry path with ..", [entry("dir/../../etc")]],
    ["an absolute entry path", [entry("/etc/passwd")]],
    ["an entry outside the listed directory", [entry("other/x")]],
    ["an unknown type", [entry("dir/x", { type: 99 as FileType })]],
    ["a size past 2^53", [entry("dir/x", { sizeBytes: 1n << 60n })]],
    ["a mode no file has", [entry("dir/x", { mode: 0o170000 })]],
    ["a link target on a file", [entry("dir/x", { linkTarget: "/etc" })]],
  ])("fails a listing with %s as sandbox_failed", async (_what, entries) => {
    const files = fake({ listFiles: () => ({ path: "dir", entries, truncated: false }) });
    await expect(files.list("dir")).rejects.toMatchObject({ code: "sandbox_failed" });
  });

  it("fails a listing with more entries than asked for", async () => {
    const files = fake({ listFiles: () => ({ path: "", entries: [entry("a"), entry("b"), entry("c")] }) });
    await expect(files.list("", { maxEntries: 2 })).rejects.toMatchObject({ code: "sandbox_failed" });
  });

  it.each([
    ["more bytes than asked for", [{ case: "data", value: new Uint8Array(10) }, { case: "done", value: { sizeBytes: 10n } }]],
    ["no end", [{ case: "data", value: new Uint8Array(2) }]],
    ["a size smaller than what came", [{ case: "data", value: new Uint8Array(4) }, { case: "done", value: { sizeBytes: 2n } }]],
    ["a truncation flag that lies", [{ case: "data", value: new Uint8Array(4) }, { case: "done", value: { sizeBytes: 4n, truncated: true } }]],
    ["data after the end", [{ case: "done", value: { sizeBytes: 0n } }, { case: "data", value: new Uint8Array(1) }]],
    ["an empty chunk", [{ case: "data", value: new Uint8Array(0) }, { case: "done", value: { sizeBytes: 0n } }]],
  ] as const)("fails a read with %s as sandbox_failed", async (_what, parts) => {
    const files = fake({
      async *readFile() {
        for (const part of parts) yield { part };
      },
    });
    await expect(files.readText("f", { maxBytes: 8 })).rejects.toMatchObject({ code: "sandbox_failed" });
  });

  it("fails an export without a header, with an empty chunk, or without its end", async () => {
    const noHeader = fake({
      async *exportArchive() {
        yield { part: { case: "chunk", value: new Uint8Array(1) } };
      },
    });
    await expect(noHeader.exportArchive("d")).rejects.toMatchObject({ code: "sandbox_failed" });
    for (const tail of [[{ case: "chunk", value: new Uint8Array(0) }], [{ case: "chunk", value: new Uint8Array(5) }]] as const) {
      const files = fake({
        async *exportArchive() {
          yield { part: { case: "header", value: { type: FileType.DIRECTORY, path: "d" } } };
          for (const part of tail) yield { part };
        },
      });
      const exp = await files.exportArchive("d");
      const read = (async () => {
        for await (const _ of exp.chunks);
      })();
      await expect(read).rejects.toMatchObject({ code: "sandbox_failed" });
    }
  });

  it("passes only allowed codes, in the manager's words, with the agent's text cleaned", async () => {
    const say = (code: Parameters<typeof toConnectError>[0]) => fake({ stat: () => Promise.reject(toConnectError(code)) });
    await expect(say(new PyroError("workspace_not_found", "x")).stat("a")).rejects.toMatchObject({ code: "sandbox_failed" });
    await expect(say(new PyroError("command_not_found", "x")).stat("a")).rejects.toMatchObject({ code: "sandbox_failed" });
    const err = await say(new PyroError("path_outside_workspace", "\u001b[31mred\u202e" + "y".repeat(1000))).stat("a").catch((e: PyroError) => e);
    expect(err).toMatchObject({ code: "path_outside_workspace", message: expect.stringMatching(/^cannot stat "a": \?\[31mred\?y+… \(\d+ more characters\)$/) });
  });
});
