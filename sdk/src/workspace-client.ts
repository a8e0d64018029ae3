/**
 * The workspace calls of the SDK client, over the manager's WorkspaceService. `Pyro` loads
 * this module on the first workspace call (so `pyro run` never pays for it, nor for the tar
 * code it brings) and wraps every call with its connection handling and error mapping:
 * errors thrown here are left raw, except the ones this module gives more data.
 */
import { ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { resolve } from "node:path";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import {
  ArchiveCompression,
  WorkspaceService,
  type CreateWorkspaceRequestSchema,
  type ExecWorkspaceExited,
  type PushWorkspaceArchiveRequestSchema,
} from "../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { archiveSource, type Compression } from "./archive/pack.js";
import { checkOutputFree, extractTar } from "./archive/extract.js";
import { awaitedCallback, callback } from "./callbacks.js";
import { CappedOutput } from "./capped-output.js";
import { WORKSPACE_LIMITS } from "./contract/limits.js";
import { toPullProgress } from "./convert.js";
import { fromConnectError, PyroError } from "./errors.js";
import { commandFields, stdinBytes, uint } from "./request-checks.js";
import type { CallOptions } from "./types.js";
import { toDiffEntry, toFileEntry, toJournalEntry, toPatchFileResult, toSnapshot, toWorkspace } from "./workspace-convert.js";
import type {
  ApplyWorkspacePatchOptions,
  CreateWorkspaceOptions,
  ExecWorkspaceOptions,
  ExecWorkspaceResult,
  ExecWorkspaceStartedInfo,
  ListWorkspaceFilesOptions,
  ListWorkspacesOptions,
  PatchFileResultInfo,
  PushWorkspaceOptions,
  ReadWorkspaceFileOptions,
  ResetWorkspaceOptions,
  SnapshotInfo,
  UpdateWorkspaceOptions,
  WorkspaceDiff,
  WorkspaceExportResult,
  WorkspaceFileContent,
  WorkspaceFileList,
  WorkspaceFileWritten,
  WorkspaceInfo,
  WorkspaceLogs,
  WorkspaceLogsOptions,
  WorkspacePatchResult,
  WorkspacePushResult,
} from "./workspace-types.js";

const COMPRESSION: Record<Compression, ArchiveCompression> = { none: ArchiveCompression.NONE, gzip: ArchiveCompression.GZIP };

function missing(what: string): PyroError {
  return new PyroError("internal", `the manager's answer had no ${what}`);
}

function workspaceRef(workspace: string): string {
  if (!workspace) throw new PyroError("invalid_argument", "no workspace named", { hint: "give a workspace id or name (see `pyro workspace list`)" });
  return workspace;
}

/** UTF-8 bytes of `text`, refused past `max` with too_large before anything is sent. */
function boundedText(text: string, max: number, what: string): string {
  const bytes = Buffer.byteLength(text);
  if (bytes > max) throw new PyroError("too_large", `the ${what} is ${bytes} bytes; at most ${max} are allowed per call`);
  return text;
}

/**
 * A request stream of a spec and then an archive's chunks. A failure of the archive (a file
 * that vanished while it was packed) is kept, so the caller reports it rather than the
 * cancelled call it caused.
 */
class UploadStream<T> {
  failure: unknown;

  constructor(
    private readonly head: T,
    private readonly chunks: AsyncIterable<Uint8Array> | undefined,
    private readonly wrap: (chunk: Uint8Array) => T,
  ) {}

  async *messages(): AsyncGenerator<T> {
    yield this.head;
    if (!this.chunks) return;
    try {
      for await (const chunk of this.chunks) yield this.wrap(chunk);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  /** The archive's own failure, when that is what ended the call. */
  reason(err: unknown): unknown {
    return this.failure ?? err;
  }
}

export class WorkspaceCalls {
  readonly #c: Client<typeof WorkspaceService>;

  constructor(transport: Transport) {
    this.#c = createClient(WorkspaceService, transport);
  }

  async create(environment: string, o: CreateWorkspaceOptions): Promise<WorkspaceInfo> {
    if (!environment) throw new PyroError("invalid_argument", "environment is empty", { hint: "name an environment, e.g. debian:12 (see `pyro env list`)" });
    const seed = o.seedPath ? await archiveSource(o.seedPath, "seed_path") : undefined;
    const spec: MessageInitShape<typeof CreateWorkspaceRequestSchema> = {
      part: {
        case: "spec",
        value: {
          environment,
          vcpuCount: uint("vcpuCount", o.vcpuCount),
          memMib: uint("memMib", o.memMib),
          diskMib: uint("diskMib", o.diskMib),
          ttlSeconds: uint("ttlSeconds", o.ttlSeconds),
          network: o.network ?? false,
          allowHostCompat: o.allowHostCompat ?? false,
          backend: o.backend ?? "",
          name: o.name ?? "",
          labels: o.labels ?? {},
          hasSeed: seed !== undefined,
          seedCompression: seed ? COMPRESSION[seed.compression] : ArchiveCompression.UNSPECIFIED,
        },
      },
    };
    const upload = new UploadStream(spec, seed?.chunks(o.signal), (chunk) => ({ part: { case: "seedChunk" as const, value: chunk } }));
    let created: WorkspaceInfo | undefined;
    try {
      for await (const res of this.#c.createWorkspace(upload.messages(), { signal: o.signal })) {
        if (res.event.case === "progress") callback(o.onProgress, toPullProgress(res.event.value));
        else if (res.event.case === "created") created = toWorkspace(res.event.value);
      }
    } catch (err) {
      throw upload.reason(err);
    }
    if (!created) throw missing("created workspace");
    return created;
  }

  async list(o: ListWorkspacesOptions): Promise<WorkspaceInfo[]> {
    const res = await this.#c.listWorkspaces({ labels: o.labels ?? {} }, { signal: o.signal });
    return res.workspaces.map(toWorkspace);
  }

  async status(workspace: string, o: CallOptions): Promise<WorkspaceInfo> {
    const res = await this.#c.getWorkspace({ workspace: workspaceRef(workspace) }, { signal: o.signal });
    if (!res.workspace) throw missing("workspace");
    return toWorkspace(res.workspace);
  }

  async update(workspace: string, o: UpdateWorkspaceOptions): Promise<WorkspaceInfo> {
    const res = await this.#c.updateWorkspace(
      { workspace: workspaceRef(workspace), name: o.name, setLabels: o.labels ?? {}, clearLabels: o.clearLabels ?? [] },
      { signal: o.signal },
    );
    if (!res.workspace) throw missing("workspace");
    return toWorkspace(res.workspace);
  }

  async logs(workspace: string, o: WorkspaceLogsOptions): Promise<WorkspaceLogs> {
    const res = await this.#c.getWorkspaceLogs({ workspace: workspaceRef(workspace), limit: uint("limit", o.limit) }, { signal: o.signal });
    return { entries: res.entries.map(toJournalEntry), omitted: res.omitted };
  }

  async stop(workspace: string, o: CallOptions): Promise<WorkspaceInfo> {
    const res = await this.#c.stopWorkspace({ workspace: workspaceRef(workspace) }, { signal: o.signal });
    if (!res.workspace) throw missing("workspace");
    return toWorkspace(res.workspace);
  }

  async start(workspace: string, o: CallOptions): Promise<WorkspaceInfo> {
    const res = await this.#c.startWorkspace({ workspace: workspaceRef(workspace) }, { signal: o.signal });
    if (!res.workspace) throw missing("workspace");
    return toWorkspace(res.workspace);
  }

  async delete(workspace: string, o: CallOptions): Promise<{ workspaceId: string }> {
    const res = await this.#c.deleteWorkspace({ workspace: workspaceRef(workspace) }, { signal: o.signal });
    return { workspaceId: res.workspaceId };
  }

  async exec(workspace: string, command: string[] | string, o: ExecWorkspaceOptions): Promise<ExecWorkspaceResult> {
    const req = {
      workspace: workspaceRef(workspace),
      ...commandFields(command, "pyro workspace exec WS -- make test"),
      cwd: o.cwd ?? "",
      env: o.env ?? {},
      timeoutSeconds: uint("timeoutSeconds", o.timeoutSeconds),
      stdin: stdinBytes(o.stdin),
    };
    const out = { stdout: new CappedOutput(WORKSPACE_LIMITS.execOutputBytes), stderr: new CappedOutput(WORKSPACE_LIMITS.execOutputBytes) };
    let started: ExecWorkspaceStartedInfo | undefined;
    let exited: ExecWorkspaceExited | undefined;
    for await (const res of this.#c.execWorkspace(req, { signal: o.signal })) {
      const ev = res.event;
      if (ev.case === "started") {
        started = { sequence: Number(ev.value.sequence), pid: ev.value.pid, executionMode: ev.value.executionMode };
        callback(o.onStarted, started);
      } else if (ev.case === "output") {
        const stream = ev.value.stream === OutputStream.STDERR ? "stderr" : "stdout";
        out[stream].push(ev.value.data);
        await awaitedCallback(o.onOutput, stream, ev.value.data);
      } else if (ev.case === "exited") exited = ev.value;
    }
    if (!exited) throw new PyroError("internal", "the manager ended the command without an exit status");
    return {
      sequence: Number(exited.sequence || started?.sequence || 0),
      executionMode: started?.executionMode ?? "",
      exitCode: exited.exitCode,
      signal: exited.signal,
      durationMs: Number(exited.durationMs),
      timedOut: exited.timedOut,
      stdout: out.stdout.text(exited.stdoutTruncated || out.stdout.truncated),
      stderr: out.stderr.text(exited.stderrTruncated || out.stderr.truncated),
      stdoutTruncated: exited.stdoutTruncated || out.stdout.truncated,
      stderrTruncated: exited.stderrTruncated || out.stderr.truncated,
    };
  }

  async listFiles(workspace: string, o: ListWorkspaceFilesOptions): Promise<WorkspaceFileList> {
    const path = o.path ?? "";
    const res = await this.#c.listWorkspaceFiles({ workspace: workspaceRef(workspace), path, recursive: o.recursive ?? false }, { signal: o.signal });
    return { path, entries: res.entries.map(toFileEntry), truncated: res.truncated };
  }

  async readFile(workspace: string, path: string, o: ReadWorkspaceFileOptions): Promise<WorkspaceFileContent> {
    const bound = WORKSPACE_LIMITS.fileRead;
    const maxBytes = o.maxBytes ?? bound.default;
    if (!Number.isInteger(maxBytes) || maxBytes < bound.min || maxBytes > bound.max) {
      throw new PyroError("invalid_argument", `maxBytes must be a whole number from ${bound.min} to ${bound.max}, got ${maxBytes}`, { hint: "read a larger file with `pyro workspace export`" });
    }
    // The manager sends at most maxBytes; keeping no more holds even if it did not.
    const kept = new CappedOutput(maxBytes);
    let done: { sizeBytes: number; truncated: boolean } | undefined;
    for await (const res of this.#c.readWorkspaceFile({ workspace: workspaceRef(workspace), path, maxBytes: BigInt(maxBytes) }, { signal: o.signal })) {
      if (res.part.case === "data") {
        kept.push(res.part.value);
        await awaitedCallback(o.onData, res.part.value);
      } else if (res.part.case === "done") done = { sizeBytes: Number(res.part.value.sizeBytes), truncated: res.part.value.truncated };
    }
    if (!done) throw missing("end of the file");
    const truncated = done.truncated || kept.truncated;
    return { path, content: kept.text(truncated), sizeBytes: done.sizeBytes, truncated };
  }

  async writeFile(workspace: string, path: string, text: string, o: CallOptions): Promise<WorkspaceFileWritten> {
    const body = boundedText(text, WORKSPACE_LIMITS.fileWriteBytes, "text");
    const res = await this.#c.writeWorkspaceFile({ workspace: workspaceRef(workspace), path, text: body }, { signal: o.signal });
    return { path: res.path, bytesWritten: Number(res.bytesWritten) };
  }

  async applyPatch(workspace: string, patch: string, o: ApplyWorkspacePatchOptions): Promise<WorkspacePatchResult> {
    const body = boundedText(patch, WORKSPACE_LIMITS.patchBytes, "patch");
    const files: PatchFileResultInfo[] = [];
    let applied: { changed: boolean; filesChanged: number } | undefined;
    try {
      for await (const res of this.#c.applyWorkspacePatch({ workspace: workspaceRef(workspace), patch: body }, { signal: o.signal })) {
        if (res.event.case === "preflight") {
          const r = toPatchFileResult(res.event.value);
          files.push(r);
          callback(o.onPreflight, r);
        } else if (res.event.case === "applied") applied = { changed: res.event.value.changed, filesChanged: res.event.value.filesChanged };
      }
    } catch (err) {
      // A refused patch: the same error, with every file's preflight result for the caller to show.
      if (err instanceof ConnectError && files.length > 0) {
        const pe = fromConnectError(err);
        if (pe.code === "patch_conflict" || pe.code === "patch_invalid") throw new PyroError(pe.code, pe.message, { hint: pe.hint, cause: err, data: { files } });
      }
      throw err;
    }
    if (!applied) {
      const failed = files.filter((f) => f.status !== "ok");
      if (failed.length > 0) {
        throw new PyroError("patch_conflict", `the patch does not apply to ${failed.map((f) => f.path).join(", ")}; nothing was written`, { data: { files } });
      }
      throw missing("outcome of the patch");
    }
    return { ...applied, files };
  }

  async push(workspace: string, sourcePath: string, o: PushWorkspaceOptions): Promise<WorkspacePushResult> {
    const ref = workspaceRef(workspace);
    const source = await archiveSource(sourcePath, "source_path");
    const dest = o.dest ?? "";
    const head: MessageInitShape<typeof PushWorkspaceArchiveRequestSchema> = { part: { case: "spec", value: { workspace: ref, dest, compression: COMPRESSION[source.compression] } } };
    const upload = new UploadStream(head, source.chunks(o.signal), (chunk) => ({ part: { case: "chunk" as const, value: chunk } }));
    try {
      const res = await this.#c.pushWorkspaceArchive(upload.messages(), { signal: o.signal });
      return { dest, source: source.from, files: res.files, directories: res.directories, bytesWritten: Number(res.bytesWritten) };
    } catch (err) {
      throw upload.reason(err);
    }
  }

  async export(workspace: string, path: string, outputPath: string, o: CallOptions): Promise<WorkspaceExportResult> {
    const ref = workspaceRef(workspace);
    // Refused before the manager does any work; the extractor checks again as it creates it.
    await checkOutputFree(outputPath);
    const it = this.#c.exportWorkspace({ workspace: ref, path }, { signal: o.signal })[Symbol.asyncIterator]();
    let finished = false;
    try {
      const first = await it.next();
      if (first.done || first.value.part.case !== "started") throw missing("description of the export");
      const started = first.value.part.value;
      if (started.type !== "file" && started.type !== "directory") throw new PyroError("internal", `the manager exports a ${JSON.stringify(started.type.slice(0, 40))}, neither a file nor a directory`);
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          if (r.value.part.case !== "chunk") throw new PyroError("internal", "the manager sent a second description in an export");
          yield r.value.part.value;
        }
      }
      const r = await extractTar(chunks(), outputPath, { kind: started.type, signal: o.signal });
      finished = true;
      return { path: started.path, type: started.type, outputPath: resolve(outputPath), ...r };
    } finally {
      // Ends the call when the export stopped reading early (a refused archive).
      if (!finished) await it.return?.().catch(() => {});
    }
  }

  async diff(workspace: string, o: CallOptions): Promise<WorkspaceDiff> {
    const res = await this.#c.diffWorkspace({ workspace: workspaceRef(workspace) }, { signal: o.signal });
    return { changed: res.changed, patch: res.patch, entries: res.entries.map(toDiffEntry), truncated: res.truncated };
  }

  async createSnapshot(workspace: string, name: string, o: CallOptions): Promise<SnapshotInfo> {
    const res = await this.#c.createSnapshot({ workspace: workspaceRef(workspace), name }, { signal: o.signal });
    if (!res.snapshot) throw missing("snapshot");
    return toSnapshot(res.snapshot);
  }

  async listSnapshots(workspace: string, o: CallOptions): Promise<SnapshotInfo[]> {
    const res = await this.#c.listSnapshots({ workspace: workspaceRef(workspace) }, { signal: o.signal });
    return res.snapshots.map(toSnapshot);
  }

  async deleteSnapshot(workspace: string, name: string, o: CallOptions): Promise<void> {
    await this.#c.deleteSnapshot({ workspace: workspaceRef(workspace), name }, { signal: o.signal });
  }

  async reset(workspace: string, o: ResetWorkspaceOptions): Promise<WorkspaceInfo> {
    const res = await this.#c.resetWorkspace({ workspace: workspaceRef(workspace), snapshot: o.snapshot ?? "" }, { signal: o.signal });
    if (!res.workspace) throw missing("workspace");
    return toWorkspace(res.workspace);
  }

  async reapExpired(o: CallOptions): Promise<string[]> {
    const res = await this.#c.reapExpiredWorkspaces({}, { signal: o.signal });
    return [...res.workspaceIds];
  }
}
