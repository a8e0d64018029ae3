/**
 * The file tools through a real sandbox: a namespace sandbox's agent serves FileService over
 * its real socket, and GuestFiles drives every RPC: write, read, list, stat, remove, export to
 * the host, import. Every way out of /workspace (`..`, absolute paths elsewhere, a symlink out,
 * a symlinked parent) is refused in read, write, list, export and import; what the file tools
 * write, a command run through the agent's Exec sees, and the other way round. Prints the
 * latency of a 64 KiB read and the throughput of a 64 MiB export (no assertions on them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pack } from "tar-stream";
import type { Sandbox } from "../host/src/backends/backend.js";
import { NamespaceBackend } from "../host/src/backends/namespace/namespace-backend.js";
import { exportToHost } from "../host/src/files/testing-export.js";
import { GuestFiles } from "../host/src/files/guest-files.js";
import { silentLogger } from "../host/src/logger.js";
import { findAgentBundle, prepareAgentRuntime } from "../host/src/runtime/agent-runtime.js";
import { E2E_CACHE, testDir } from "./harness.js";

const dir = testDir("pyro-guest-files-");
const runtime = () => prepareAgentRuntime(E2E_CACHE, findAgentBundle(process.env));
const version = readdirSync(join(E2E_CACHE, "environments", "debian-12")).find((v) => !v.startsWith("."))!;
const rootfs = join(E2E_CACHE, "environments", "debian-12", version, "rootfs");
const backend = new NamespaceBackend({ runtime, log: silentLogger, sandboxUser: { uid: 65534, gid: 65534 } });
const probe = await backend.probe();

let sandbox: Sandbox;
let files: GuestFiles;

/** Runs a shell command in the sandbox through the agent's Exec; its stdout and exit code. */
async function sh(command: string): Promise<{ out: string; exit: number }> {
  let out = "";
  let exit = -1;
  for await (const r of sandbox.agent.exec({ shellCommand: command, timeoutMs: 30_000n })) {
    if (r.event.case === "output") out += Buffer.from(r.event.value.data).toString();
    if (r.event.case === "exited") exit = r.event.value.exitCode;
  }
  return { out, exit };
}

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.skipIf(!probe.available)(`file tools in a namespace sandbox${probe.available ? "" : ` (skipped: ${probe.detail})`}`, () => {
  beforeAll(async () => {
    sandbox = await backend.create({
      id: "sb-0000f11e50",
      dir: join(dir, "sandbox"),
      environment: { name: "debian:12", rootfs },
      network: false,
      resources: { vcpuCount: 1, memMib: 512, diskMib: 1024, pidsMax: 256 },
      durable: false,
    });
    files = new GuestFiles(sandbox.files, { sandbox: sandbox.id, log: silentLogger });
  });
  afterAll(async () => {
    await sandbox?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("advertises the file capabilities", async () => {
    expect((await sandbox.agent.getInfo({})).capabilities).toEqual(expect.arrayContaining(["files.v1", "files.archive.v1"]));
  });

  it("writes what commands see, and reads what commands wrote", async () => {
    expect(await files.writeText("src/app.py", "print('hi from pyro')\n")).toEqual({ path: "src/app.py", bytesWritten: 22 });
    expect(await sh("cd /workspace && python3 src/app.py 2>/dev/null || cat src/app.py")).toMatchObject({ exit: 0, out: expect.stringContaining("hi from pyro") });
    expect(await sh("stat -c %a /workspace/src/app.py")).toEqual({ out: "644\n", exit: 0 });
    await sh("printf 'made by a command\\n' > /workspace/cmd.txt && chmod 700 /workspace/cmd.txt");
    expect(await files.readText("cmd.txt")).toEqual({ content: "made by a command\n", sizeBytes: 18, truncated: false });
    await files.writeText("/workspace/cmd.txt", "replaced\n");
    expect(await sh("cat /workspace/cmd.txt; stat -c %a /workspace/cmd.txt")).toEqual({ out: "replaced\n700\n", exit: 0 });
  });

  it("lists, stats and removes", async () => {
    await sh("mkdir -p /workspace/tree/sub && echo x > /workspace/tree/sub/f && ln -s /etc /workspace/tree/etc && mkfifo /workspace/tree/fifo");
    const all = await files.list("tree", { recursive: true });
    expect(all.entries.map((e) => [e.path, e.type])).toEqual([
      ["tree/etc", "symlink"],
      ["tree/fifo", "other"],
      ["tree/sub", "directory"],
      ["tree/sub/f", "file"],
    ]);
    expect(await files.stat("tree/etc")).toMatchObject({ type: "symlink", linkTarget: "/etc" });
    expect(await files.remove("tree/etc")).toBe(true);
    expect(await sh("test -e /workspace/tree/etc || echo gone; test -d /etc && echo etc-kept")).toEqual({ out: "gone\netc-kept\n", exit: 0 });
    await expect(files.readText("tree/fifo")).rejects.toMatchObject({ code: "invalid_argument" });
    await sh("printf '\\211PNG\\0\\377' > /workspace/bin.dat");
    await expect(files.readText("bin.dat")).rejects.toMatchObject({ code: "not_text" });
  });

  it("exports a directory and a file to the host, and imports archives", async () => {
    await sh("mkdir -p /workspace/proj/lib && echo lib > /workspace/proj/lib/x.js && ln -s lib/x.js /workspace/proj/main.js && mkfifo /workspace/proj/pipe");
    const out = join(dir, "proj-out");
    expect(await exportToHost(files, "proj", out)).toMatchObject({ type: "directory", path: "proj", files: 1, symlinks: 1 });
    expect(readlinkSync(join(out, "main.js"))).toBe("lib/x.js");
    expect(readFileSync(join(out, "main.js"), "utf8")).toBe("lib\n");
    expect(existsSync(join(out, "pipe"))).toBe(false); // fifos are left out
    const one = join(dir, "app.py");
    expect(await exportToHost(files, "src/app.py", one)).toMatchObject({ type: "file", files: 1 });
    expect(lstatSync(one).isFile()).toBe(true);
    await expect(exportToHost(files, "src/app.py", one)).rejects.toMatchObject({ code: "invalid_argument" }); // never overwrites

    const archive = await tarOf([
      { name: "seed/", type: "directory" },
      { name: "seed/README.md", data: "# seed\n" },
      { name: "seed/run.sh", data: "#!/bin/sh\necho seeded\n", mode: 0o755 },
      { name: "seed/docs", type: "symlink", linkname: "README.md" },
    ]);
    expect(await files.importArchive("imported", once(archive))).toMatchObject({ files: 2, directories: 1, symlinks: 1 });
    expect(await sh("/workspace/imported/seed/run.sh && cat /workspace/imported/seed/docs")).toEqual({ out: "seeded\n# seed\n", exit: 0 });
  });

  it("refuses every way out of /workspace in read, write, list, export and import", async () => {
    // A symlink out to a file, one to a directory, and a directory whose parent is a symlink out.
    await sh("ln -s /etc/hostname /workspace/out-file && ln -s /tmp /workspace/out-dir && mkdir -p /tmp/victim && echo original > /tmp/victim/f");
    const ways = ["../etc/hostname", "/etc/hostname", "/tmp/victim/f", "out-file", "out-dir/victim/f", "src/../../tmp/victim/f", "/workspace/../tmp/victim/f"];
    for (const p of ways) {
      await expect(files.readText(p), `read ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.writeText(p, "pwned"), `write ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.list(p), `list ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(exportToHost(files, p, join(dir, "escape-out")), `export ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.importArchive(p, once(await tarOf([{ name: "f", data: "pwned" }]))), `import ${p}`).rejects.toMatchObject({
        code: "path_outside_workspace",
      });
    }
    // Stat and remove describe or remove a last symlink itself, but never go through a parent out.
    for (const p of ways.filter((w) => w !== "out-file")) {
      await expect(files.stat(p), `stat ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
      await expect(files.remove(p), `remove ${p}`).rejects.toMatchObject({ code: "path_outside_workspace" });
    }
    // Hostile archive entries: each refused, naming it, with nothing written outside.
    const hostile: [Parameters<typeof tarOf>[0], string, string][] = [
      [[{ name: "../../tmp/victim/f", data: "pwned" }], "path_outside_workspace", "../../tmp/victim/f"],
      [[{ name: "/tmp/victim/f", data: "pwned" }], "path_outside_workspace", "/tmp/victim/f"],
      [[{ name: "l", type: "symlink", linkname: "/tmp/victim" }, { name: "l/f", data: "pwned" }], "path_outside_workspace", "l"],
      [[{ name: "up", type: "symlink", linkname: "../../tmp" }], "path_outside_workspace", "up"],
      [[{ name: "pw", type: "link", linkname: "/etc/passwd" }], "path_outside_workspace", "pw"],
      [[{ name: "in", type: "symlink", linkname: "src" }, { name: "in/f", data: "x" }], "path_outside_workspace", "in/f"], // never through a symlink
      [[{ name: "out-dir/victim/f", data: "pwned" }], "path_outside_workspace", "out-dir/victim/f"], // the workspace's own symlink out
      [[{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }], "unsafe_archive", "null"],
    ];
    for (const [entries, code, refused] of hostile) {
      await expect(files.importArchive("", once(await tarOf(entries))), refused).rejects.toMatchObject({ code, message: expect.stringContaining(JSON.stringify(refused)) });
    }
    expect(await sh("cat /tmp/victim/f; ls /tmp/victim; test -L /workspace/l || echo no-link")).toEqual({ out: "original\nf\nno-link\n", exit: 0 });
    expect(existsSync(join(dir, "escape-out"))).toBe(false);
    // Describing or removing a symlink out is fine: it is not followed.
    expect(await files.stat("out-dir")).toMatchObject({ type: "symlink", linkTarget: "/tmp" });
    expect(await files.remove("out-file")).toBe(true);
    expect(await sh("cat /etc/hostname >/dev/null && echo ok")).toEqual({ out: "ok\n", exit: 0 });
  });

  it("measures a 64 KiB read and a 64 MiB export", async () => {
    await sh("head -c 65536 /dev/zero | tr '\\0' 'a' > /workspace/64k.txt");
    for (let i = 0; i < 5; i++) await files.readText("64k.txt"); // warm
    const reads: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const r = await files.readText("64k.txt");
      reads.push(performance.now() - t0);
      expect(r.content.length).toBe(65536);
    }
    await sh("mkdir -p /workspace/big && for i in $(seq 1 64); do head -c 1048576 /dev/urandom > /workspace/big/f$i; done");
    const t0 = performance.now();
    let bytes = 0;
    const exp = await files.exportArchive("big");
    for await (const chunk of exp.chunks) bytes += chunk.length;
    const streamMs = performance.now() - t0;
    const t1 = performance.now();
    const r = await exportToHost(files, "big", join(dir, "big-out"));
    const hostMs = performance.now() - t1;
    expect(r).toMatchObject({ files: 64, bytesWritten: 64 << 20 });
    expect(statSync(join(dir, "big-out", "f1")).size).toBe(1 << 20);
    const mb = (64 << 20) / 1e6;
    process.stderr.write(
      `[guest-files] 64 KiB read: median ${median(reads).toFixed(2)} ms (min ${Math.min(...reads).toFixed(2)}, max ${Math.max(...reads).toFixed(2)}, n=50)\n` +
        `[guest-files] 64 MiB export: stream only ${(mb / (streamMs / 1000)).toFixed(0)} MB/s (${bytes} archive bytes in ${streamMs.toFixed(0)} ms); ` +
        `to a host directory ${(mb / (hostMs / 1000)).toFixed(0)} MB/s (${hostMs.toFixed(0)} ms)\n`,
    );
  });
});
