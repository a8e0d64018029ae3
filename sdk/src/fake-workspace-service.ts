/**
 * For unit tests of the layers above the manager (SDK, CLI, MCP): an in-memory
 * WorkspaceService served through Connect's `createRouterTransport`, so the real `Pyro`
 * client talks real protobuf to it. Files live in a map; commands are a few canned words
 * (`echo` (and `echo … > FILE`), `cat`, `exit N`, `sleep` times out, `big N` prints N bytes); export can be asked to
 * send a hostile archive (`path: "hostile"`). Not a manager: no sandboxes, no guest.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createRouterTransport, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { posix } from "node:path";
import { createGunzip } from "node:zlib";
import { Readable } from "node:stream";
import { extract as tarExtract, pack as tarPack } from "tar-stream";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import { FileType, PatchFileStatus, WorkspaceSchema, WorkspaceState, type PatchFileResultSchema } from "../../proto/gen/pyro/manager/v1/workspace_pb.js";
import { ArchiveCompression, WorkspaceService } from "../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { Pyro } from "./client.js";
import { PyroError, toConnectError } from "./errors.js";
import type { WorkspaceMethods } from "./workspace-types.js";

interface FakeFile {
  text: string;
  mode: number;
}

interface FakeWorkspace {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: WorkspaceState;
  environment: string;
  files: Map<string, FakeFile>;
  baseline: Map<string, FakeFile>;
  snapshots: Map<string, Map<string, FakeFile>>;
  journal: { sequence: number; argv: string[]; exitCode: number; stdout: string; stderr: string; timedOut: boolean }[];
  activity: number;
  network: boolean;
  /** Past its TTL: the next reap deletes it. */
  expired: boolean;
}

/** The fake's state, for tests to look at and arrange. */
export class FakeWorkspaces {
  readonly workspaces = new Map<string, FakeWorkspace>();
  /** Environments that are "installed" (others send install progress first). */
  readonly installed = new Set(["debian:12"]);
  #next = 1;
  #clock = 1;

  add(environment: string, name = "", labels: Record<string, string> = {}): FakeWorkspace {
    const id = `ws-${String(this.#next++).padStart(10, "0")}`;
    const ws: FakeWorkspace = { id, name, labels, state: WorkspaceState.STARTED, environment, files: new Map(), baseline: new Map(), snapshots: new Map(), journal: [], activity: this.#clock++, network: false, expired: false };
    this.workspaces.set(id, ws);
    return ws;
  }

  find(ref: string): FakeWorkspace {
    const ws = this.workspaces.get(ref) ?? [...this.workspaces.values()].find((w) => w.name !== "" && w.name === ref);
    if (!ws) throw new PyroError("workspace_not_found", `no workspace ${JSON.stringify(ref)}`);
    return ws;
  }

  touch(ws: FakeWorkspace): void {
    ws.activity = this.#clock++;
  }
}

function running(ws: FakeWorkspace): FakeWorkspace {
  if (ws.state !== WorkspaceState.STARTED) throw new PyroError("workspace_not_running", `workspace ${ws.id} is stopped`);
  return ws;
}

/** A path under /workspace, relative; refuses what leads out. */
function inside(path: string): string {
  const abs = posix.normalize(posix.isAbsolute(path) ? path : posix.join("/workspace", path));
  if (abs !== "/workspace" && !abs.startsWith("/workspace/")) throw new PyroError("path_outside_workspace", `${path} is outside /workspace`);
  return abs.slice("/workspace/".length);
}

function message(ws: FakeWorkspace) {
  return create(WorkspaceSchema, {
    workspaceId: ws.id,
    name: ws.name,
    labels: ws.labels,
    state: ws.state,
    environment: ws.environment,
    executionMode: "namespace",
    createdAt: "2025-01-01T00:00:00Z",
    lastActivityAt: `2025-01-01T00:00:${String(ws.activity % 60).padStart(2, "0")}Z`,
    expiresAt: "2025-01-01T00:10:00Z",
    ttlSeconds: 600,
    limits: { vcpuCount: { value: 1n, enforced: true, detail: "cgroup" }, memMib: { value: 1024n, enforced: true, detail: "cgroup" }, diskMib: { value: 4096n, enforced: true, detail: "image" }, pids: { value: 1024n, enforced: true, detail: "cgroup" } },
    seccomp: "pyro-default/x86_64",
    network: ws.network,
    sandboxId: `sb-${ws.id.slice(3)}`,
    commandCount: ws.journal.length,
    snapshots: [...ws.snapshots.keys()],
  });
}

/** Unpacks tar bytes (gzip when asked) into `files` under `dest`; returns what it wrote. */
async function untar(bytes: Uint8Array[], compression: ArchiveCompression, files: Map<string, FakeFile>, dest: string) {
  let input: Readable = Readable.from(bytes);
  if (compression === ArchiveCompression.GZIP) input = input.pipe(createGunzip());
  const ex = tarExtract();
  input.pipe(ex as unknown as NodeJS.WritableStream);
  const counts = { files: 0, directories: 0, bytesWritten: 0n };
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
    const path = inside(posix.join(dest, entry.header.name));
    if (entry.header.type === "directory") counts.directories++;
    else if (entry.header.type === "file") {
      const text = Buffer.concat(chunks).toString();
      files.set(path, { text, mode: entry.header.mode ?? 0o644 });
      counts.files++;
      counts.bytesWritten += BigInt(Buffer.byteLength(text));
    } else throw new PyroError("unsafe_archive", `${entry.header.name} is a ${entry.header.type}`);
  }
  return counts;
}

async function* tarOf(entries: { name: string; body?: string; type?: "file" | "directory" | "symlink"; linkname?: string }[]): AsyncGenerator<Uint8Array> {
  const p = tarPack();
  for (const e of entries) p.entry({ name: e.name, type: e.type ?? "file", linkname: e.linkname, mode: 0o644 }, e.body ?? "");
  p.finalize();
  for await (const c of p) yield c as Uint8Array;
}

const utf8 = new TextEncoder();

/** Applies a unified diff by replacing each hunk's old lines with its new ones; a hunk whose old lines are not there is a conflict. */
function applyPatch(files: Map<string, FakeFile>, patch: string): { path: string; ok: boolean; text: string; hunks: number; added: number; removed: number; expected: string[] }[] {
  const results: ReturnType<typeof applyPatch> = [];
  for (const part of patch.split(/^--- /m).slice(1)) {
    const lines = part.split("\n");
    const target = lines[1]?.replace(/^\+\+\+ (b\/)?/, "") ?? "";
    const path = inside(target);
    let text = files.get(path)?.text ?? "";
    let ok = true;
    let hunks = 0;
    let added = 0;
    let removed = 0;
    let expected: string[] = [];
    for (const hunk of lines.slice(2).join("\n").split(/^@@.*@@\n?/m).slice(1)) {
      hunks++;
      const body = hunk.split("\n").filter((l) => l !== "");
      const before = body.filter((l) => !l.startsWith("+")).map((l) => l.slice(1));
      const after = body.filter((l) => !l.startsWith("-")).map((l) => l.slice(1));
      added += body.filter((l) => l.startsWith("+")).length;
      removed += body.filter((l) => l.startsWith("-")).length;
      const old = before.join("\n");
      if (!text.includes(old)) {
        ok = false;
        expected = before;
        break;
      }
      text = text.replace(old, after.join("\n"));
    }
    results.push({ path, ok, text, hunks, added, removed, expected });
  }
  if (results.length === 0) throw new PyroError("patch_invalid", "no file in the patch");
  return results;
}

function implementation(state: FakeWorkspaces): ServiceImpl<typeof WorkspaceService> {
  return {
    async *createWorkspace(requests) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.part.case !== "spec") throw new PyroError("invalid_argument", "the spec comes first");
      const spec = first.value.part.value;
      const seed: Uint8Array[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) if (r.value.part.case === "seedChunk") seed.push(r.value.part.value);
      if (spec.environment.startsWith("debian:99")) throw new PyroError("environment_not_found", `unknown environment ${spec.environment}`);
      if (spec.name && [...state.workspaces.values()].some((w) => w.name === spec.name)) throw new PyroError("workspace_name_taken", `a workspace is named ${spec.name}`);
      if (!state.installed.has(spec.environment)) {
        yield { event: { case: "progress", value: { environment: spec.environment, phase: 2, message: "fetching", elapsedMs: 5n } } };
        state.installed.add(spec.environment);
      }
      const ws = state.add(spec.environment, spec.name, { ...spec.labels });
      ws.network = spec.network;
      if (spec.hasSeed) await untar(seed, spec.seedCompression, ws.files, "");
      ws.baseline = new Map(ws.files);
      yield { event: { case: "created", value: message(ws) } };
    },
    listWorkspaces(req) {
      const matches = [...state.workspaces.values()].filter((w) => Object.entries(req.labels).every(([k, v]) => w.labels[k] === v));
      return { workspaces: matches.sort((a, b) => b.activity - a.activity).map(message) };
    },
    getWorkspace: (req) => ({ workspace: message(state.find(req.workspace)) }),
    updateWorkspace(req) {
      const ws = state.find(req.workspace);
      if (req.name !== undefined) {
        if (req.name && [...state.workspaces.values()].some((w) => w !== ws && w.name === req.name)) throw new PyroError("workspace_name_taken", `a workspace is named ${req.name}`);
        ws.name = req.name;
      }
      Object.assign(ws.labels, req.setLabels);
      for (const k of req.clearLabels) delete ws.labels[k];
      state.touch(ws);
      return { workspace: message(ws) };
    },
    getWorkspaceLogs(req) {
      const ws = state.find(req.workspace);
      return {
        entries: ws.journal.map((j) => ({ sequence: BigInt(j.sequence), argv: j.argv, cwd: "/workspace", exitCode: j.exitCode, timedOut: j.timedOut, startedAt: "2025-01-01T00:00:00Z", durationMs: 3n, stdout: utf8.encode(j.stdout), stderr: utf8.encode(j.stderr) })),
        omitted: 0,
      };
    },
    stopWorkspace(req) {
      const ws = state.find(req.workspace);
      ws.state = WorkspaceState.STOPPED;
      return { workspace: message(ws) };
    },
    startWorkspace(req) {
      const ws = state.find(req.workspace);
      ws.state = WorkspaceState.STARTED;
      return { workspace: message(ws) };
    },
    deleteWorkspace(req) {
      const ws = state.find(req.workspace);
      state.workspaces.delete(ws.id);
      return { workspaceId: ws.id };
    },
    async *execWorkspace(req) {
      const ws = running(state.find(req.workspace));
      const argv = req.argv.length > 0 ? req.argv : ["/bin/sh", "-c", req.shellCommand];
      const words = req.argv.length > 0 ? req.argv : req.shellCommand.split(" ");
      const sequence = ws.journal.length + 1;
      yield { event: { case: "started", value: { sequence: BigInt(sequence), pid: 7, executionMode: "namespace" } } };
      let stdout = "";
      let stderr = "";
      let exitCode = 0;
      let timedOut = false;
      const [cmd, ...rest] = words;
      const into = rest.indexOf(">");
      if (cmd === "echo" && into >= 0) ws.files.set(inside(rest[into + 1] ?? ""), { text: rest.slice(0, into).join(" ") + "\n", mode: 0o644 });
      else if (cmd === "echo") stdout = rest.join(" ") + "\n";
      else if (cmd === "cat") {
        const f = ws.files.get(inside(rest[0] ?? ""));
        if (f) stdout = f.text;
        else [stderr, exitCode] = [`cat: ${rest[0]}: No such file or directory\n`, 1];
      } else if (cmd === "exit") exitCode = Number(rest[0]);
      else if (cmd === "sleep") [timedOut, exitCode] = [true, -1];
      else if (cmd === "big") stdout = "h".repeat(1000) + "m".repeat(Number(rest[0]) - 2000) + "t".repeat(1000);
      else if (cmd === "nope") throw new PyroError("command_not_found", `${cmd}: command not found`);
      if (stdout) yield { event: { case: "output", value: { stream: OutputStream.STDOUT, data: utf8.encode(stdout) } } };
      if (stderr) yield { event: { case: "output", value: { stream: OutputStream.STDERR, data: utf8.encode(stderr) } } };
      ws.journal.push({ sequence, argv, exitCode, stdout, stderr, timedOut });
      state.touch(ws);
      yield { event: { case: "exited", value: { sequence: BigInt(sequence), exitCode, signal: timedOut ? "SIGKILL" : "", durationMs: 3n, timedOut } } };
    },
    listWorkspaceFiles(req) {
      const ws = running(state.find(req.workspace));
      const dir = inside(req.path);
      const prefix = dir ? dir + "/" : "";
      const entries = new Map<string, { path: string; type: FileType; sizeBytes: bigint; mode: number }>();
      for (const [path, f] of ws.files) {
        if (!path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length).split("/");
        if (rest.length === 1 || req.recursive) entries.set(path, { path, type: FileType.FILE, sizeBytes: BigInt(Buffer.byteLength(f.text)), mode: f.mode });
        if (rest.length > 1) entries.set(prefix + rest[0], { path: prefix + rest[0], type: FileType.DIRECTORY, sizeBytes: 0n, mode: 0o755 });
      }
      return { entries: [...entries.values()].sort((a, b) => a.path.localeCompare(b.path)) };
    },
    async *readWorkspaceFile(req) {
      const ws = running(state.find(req.workspace));
      const f = ws.files.get(inside(req.path));
      if (!f) throw new PyroError("file_not_found", `${req.path} does not exist`);
      if (f.text.includes("\0")) throw new PyroError("not_text", `${req.path} is not text`);
      const bytes = utf8.encode(f.text);
      const max = Number(req.maxBytes || 65536n);
      const sent = bytes.subarray(0, max);
      const half = Math.floor(sent.length / 2);
      yield { part: { case: "data", value: sent.subarray(0, half) } };
      yield { part: { case: "data", value: sent.subarray(half) } };
      yield { part: { case: "done", value: { sizeBytes: BigInt(bytes.length), truncated: bytes.length > max } } };
    },
    writeWorkspaceFile(req) {
      const ws = running(state.find(req.workspace));
      const path = inside(req.path);
      ws.files.set(path, { text: req.text, mode: ws.files.get(path)?.mode ?? 0o644 });
      state.touch(ws);
      return { path, bytesWritten: BigInt(Buffer.byteLength(req.text)) };
    },
    async *applyWorkspacePatch(req) {
      const ws = running(state.find(req.workspace));
      const results = applyPatch(ws.files, req.patch);
      for (const r of results) {
        const value: MessageInitShape<typeof PatchFileResultSchema> = { path: r.path, operation: "modify", status: r.ok ? PatchFileStatus.OK : PatchFileStatus.CONFLICT, hunks: r.hunks, addedLines: r.added, removedLines: r.removed };
        if (!r.ok) Object.assign(value, { message: "hunk 1 does not match", conflictHunk: 1, expectedLines: r.expected, actualLines: [] });
        yield { event: { case: "preflight", value } };
      }
      const bad = results.find((r) => !r.ok);
      if (bad) throw new PyroError("patch_conflict", `hunk 1 of ${bad.path} does not match the file`);
      for (const r of results) ws.files.set(r.path, { text: r.text, mode: ws.files.get(r.path)?.mode ?? 0o644 });
      state.touch(ws);
      yield { event: { case: "applied", value: { changed: true, filesChanged: results.length } } };
    },
    async pushWorkspaceArchive(requests) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.part.case !== "spec") throw new PyroError("invalid_argument", "the spec comes first");
      const spec = first.value.part.value;
      const ws = running(state.find(spec.workspace));
      const chunks: Uint8Array[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) if (r.value.part.case === "chunk") chunks.push(r.value.part.value);
      const counts = await untar(chunks, spec.compression, ws.files, spec.dest);
      state.touch(ws);
      return counts;
    },
    async *exportWorkspace(req) {
      const ws = running(state.find(req.workspace));
      if (req.path === "hostile") {
        yield { part: { case: "started", value: { type: "directory", path: "hostile" } } };
        for await (const c of tarOf([{ name: "fine.txt", body: "ok" }, { name: "../escaped.txt", body: "evil" }])) yield { part: { case: "chunk", value: c } };
        return;
      }
      const path = inside(req.path);
      const file = ws.files.get(path);
      if (file) {
        yield { part: { case: "started", value: { type: "file", path } } };
        for await (const c of tarOf([{ name: posix.basename(path), body: file.text }])) yield { part: { case: "chunk", value: c } };
        return;
      }
      const prefix = path ? path + "/" : "";
      const inDir = [...ws.files].filter(([p]) => p.startsWith(prefix));
      if (path && inDir.length === 0) throw new PyroError("file_not_found", `${req.path} does not exist`);
      yield { part: { case: "started", value: { type: "directory", path } } };
      for await (const c of tarOf(inDir.map(([p, f]) => ({ name: p.slice(prefix.length), body: f.text })))) yield { part: { case: "chunk", value: c } };
    },
    diffWorkspace(req) {
      const ws = running(state.find(req.workspace));
      const entries: { path: string; change: string; type: string }[] = [];
      let patch = "";
      for (const [path, f] of ws.files) {
        const before = ws.baseline.get(path);
        if (before?.text === f.text) continue;
        entries.push({ path, change: before ? "modified" : "added", type: "file" });
        patch += `--- ${before ? `a/${path}` : "/dev/null"}\n+++ b/${path}\n@@ -1 +1 @@\n${before ? `-${before.text}` : ""}+${f.text}`;
      }
      for (const path of ws.baseline.keys()) if (!ws.files.has(path)) entries.push({ path, change: "deleted", type: "file" });
      return { changed: entries.length > 0, patch, entries };
    },
    createSnapshot(req) {
      const ws = running(state.find(req.workspace));
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(req.name)) throw new PyroError("invalid_argument", `bad snapshot name ${req.name}`);
      if (ws.snapshots.has(req.name)) throw new PyroError("snapshot_exists", `snapshot ${req.name} exists`);
      ws.snapshots.set(req.name, new Map(ws.files));
      return { snapshot: { name: req.name, createdAt: "2025-01-01T00:00:00Z", sizeBytes: 10240n } };
    },
    listSnapshots(req) {
      const ws = state.find(req.workspace);
      return { snapshots: [...ws.snapshots.keys()].map((name) => ({ name, createdAt: "2025-01-01T00:00:00Z", sizeBytes: 10240n })) };
    },
    deleteSnapshot(req) {
      const ws = state.find(req.workspace);
      if (!ws.snapshots.delete(req.name)) throw new PyroError("snapshot_not_found", `no snapshot ${req.name}`);
      return {};
    },
    resetWorkspace(req) {
      const ws = state.find(req.workspace);
      const from = req.snapshot ? ws.snapshots.get(req.snapshot) : ws.baseline;
      if (!from) throw new PyroError("snapshot_not_found", `no snapshot ${req.snapshot}`);
      ws.files = new Map(from);
      ws.journal = [];
      ws.state = WorkspaceState.STARTED;
      state.touch(ws);
      return { workspace: message(ws) };
    },
    reapExpiredWorkspaces() {
      const expired = [...state.workspaces.values()].filter((w) => w.expired).map((w) => w.id);
      for (const id of expired) state.workspaces.delete(id);
      return { workspaceIds: expired };
    },
  };
}

/** Every handler's PyroError leaves as the manager's would: with its stable code as a detail. */
function withStableCodes<T extends object>(impl: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl) as [string, (...a: unknown[]) => unknown][]) {
    if (fn.constructor.name === "AsyncGeneratorFunction") {
      out[name] = async function* (...args: unknown[]) {
        try {
          yield* fn(...args) as AsyncGenerator;
        } catch (err) {
          throw toConnectError(err);
        }
      };
    } else {
      out[name] = async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw toConnectError(err);
        }
      };
    }
  }
  return out as T;
}

/** An in-process transport serving a fake WorkspaceService over `state`. */
export function fakeWorkspaceTransport(state = new FakeWorkspaces()): Transport {
  return createRouterTransport(({ service }) => service(WorkspaceService, withStableCodes(implementation(state))));
}

/** A real `Pyro` client of a fake WorkspaceService, and the fake's state. */
export function fakeWorkspacePyro(state = new FakeWorkspaces()): { pyro: Pyro; state: FakeWorkspaces } {
  return { pyro: new Pyro({ transport: fakeWorkspaceTransport(state), env: {} }), state };
}

/** The workspace methods of `pyro`, bound, to put on a test double of PyroClient. */
export function workspaceMethodsOf(pyro: WorkspaceMethods): WorkspaceMethods {
  const names = [
    "createWorkspace", "listWorkspaces", "statusWorkspace", "updateWorkspace", "workspaceLogs", "stopWorkspace", "startWorkspace", "deleteWorkspace",
    "execWorkspace", "listWorkspaceFiles", "readWorkspaceFile", "writeWorkspaceFile", "applyWorkspacePatch", "pushWorkspace", "exportWorkspace",
    "diffWorkspace", "createSnapshot", "listSnapshots", "deleteSnapshot", "resetWorkspace", "reapExpired",
  ] as const satisfies readonly (keyof WorkspaceMethods)[];
  // Fails to compile when a method is added to WorkspaceMethods and not here.
  const complete: Exclude<keyof WorkspaceMethods, (typeof names)[number]> extends never ? true : never = true;
  void complete;
  return Object.fromEntries(names.map((n) => [n, (pyro[n] as (...a: unknown[]) => unknown).bind(pyro)])) as unknown as WorkspaceMethods;
}
