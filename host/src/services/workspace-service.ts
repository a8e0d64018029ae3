/** pyro.manager.v1.WorkspaceService: a thin adapter over Workspaces and WorkspaceFiles. */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import type { LimitsSchema } from "../../../proto/gen/pyro/common/v1/limits_pb.js";
import {
  ArchiveCompression,
  CreateWorkspaceResponseSchema,
  ExecWorkspaceResponseSchema,
  ExportWorkspaceResponseSchema,
  ReadWorkspaceFileResponseSchema,
  WorkspaceService,
  type CreateWorkspaceRequest,
  type CreateWorkspaceResponse,
  type ExecWorkspaceResponse,
  type ExportWorkspaceResponse,
  type PushWorkspaceArchiveRequest,
  type ReadWorkspaceFileResponse,
} from "../../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { FileType, WorkspaceState, type WorkspaceSchema } from "../../../proto/gen/pyro/manager/v1/workspace_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { withProgress } from "../async-queue.js";
import type { LimitsInForce } from "../backends/resources.js";
import type { Logger } from "../logger.js";
import { pullProgress } from "../progress.js";
import type { FileKind } from "../files/guest-reply-checks.js";
import type { WorkspaceFiles } from "../workspaces/workspace-files.js";
import type { ArchiveCompression as Compression, WorkspaceView, Workspaces } from "../workspaces/workspaces.js";
import type { PatchApplier } from "../workspaces/workspace-patch.js";
import { streaming, unary } from "./guard.js";

const CHUNK_BYTES = 256 << 10;

function limitsMessage(l: LimitsInForce): MessageInitShape<typeof LimitsSchema> {
  const limit = (s: LimitsInForce["memMib"]) => ({ value: BigInt(s.value), enforced: s.enforced, detail: s.detail });
  return { vcpuCount: limit(l.vcpuCount), memMib: limit(l.memMib), diskMib: limit(l.diskMib), pids: limit(l.pids) };
}

const STATES = { started: WorkspaceState.STARTED, stopped: WorkspaceState.STOPPED, failed: WorkspaceState.FAILED } as const;
const FILE_TYPES: Record<FileKind, FileType> = { file: FileType.FILE, directory: FileType.DIRECTORY, symlink: FileType.SYMLINK, other: FileType.OTHER };

/** The wire form of a workspace. */
export function workspaceMessage(w: WorkspaceView): MessageInitShape<typeof WorkspaceSchema> {
  return {
    workspaceId: w.id,
    name: w.name ?? "",
    labels: w.labels,
    state: STATES[w.state],
    environment: w.environment,
    executionMode: w.backend,
    createdAt: w.createdAt,
    lastActivityAt: w.lastActivityAt,
    expiresAt: w.expiresAt,
    ttlSeconds: w.ttlSeconds,
    limits: w.sandbox ? limitsMessage(w.sandbox.limits) : undefined,
    seccomp: w.sandbox?.seccomp ?? "",
    network: w.network,
    sandboxId: w.sandboxId,
    commandCount: w.commandCount,
    snapshots: w.snapshots.map((s) => s.name),
    failure: w.failure ?? "",
  };
}

function compression(c: ArchiveCompression): Compression {
  return c === ArchiveCompression.GZIP ? "gzip" : "none";
}

/** Splits a client stream into its first message (the spec) and the chunks after it. */
async function specThenChunks<R extends { part: { case: string | undefined; value?: unknown } }, S>(
  reqs: AsyncIterable<R>,
  specCase: string,
  chunkCase: string,
): Promise<{ spec: S; chunks: AsyncGenerator<Uint8Array> }> {
  const it = reqs[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.part.case !== specCase) throw new PyroError("invalid_argument", `the first message must carry the ${specCase}`);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      if (n.value.part.case !== chunkCase) throw new PyroError("invalid_argument", `only archive chunks may follow the ${specCase}`);
      yield n.value.part.value as Uint8Array;
    }
  }
  return { spec: first.value.part.value as S, chunks: chunks() };
}

export function workspaceService(o: { workspaces: Workspaces; files: WorkspaceFiles; patches: PatchApplier; log: Logger }): ServiceImpl<typeof WorkspaceService> {
  const { workspaces: ws, files, log } = o;
  return {
    createWorkspace: streaming(log, "CreateWorkspace", async function* (reqs: AsyncIterable<CreateWorkspaceRequest>, ctx): AsyncGenerator<CreateWorkspaceResponse> {
      const { spec, chunks } = await specThenChunks<CreateWorkspaceRequest, Extract<CreateWorkspaceRequest["part"], { case: "spec" }>["value"]>(reqs, "spec", "seedChunk");
      const seed = spec.hasSeed ? { chunks, compression: compression(spec.seedCompression) } : undefined;
      const created = yield* withProgress<CreateWorkspaceResponse, WorkspaceView>((push) =>
        ws.create(
          {
            environment: spec.environment,
            vcpuCount: spec.vcpuCount,
            memMib: spec.memMib,
            diskMib: spec.diskMib,
            ttlSeconds: spec.ttlSeconds,
            name: spec.name,
            labels: spec.labels,
            network: spec.network,
            allowHostCompat: spec.allowHostCompat,
            backend: spec.backend,
          },
          seed,
          ctx.signal,
          (p) => push(create(CreateWorkspaceResponseSchema, { event: { case: "progress", value: pullProgress(p) } })),
        ),
      );
      yield create(CreateWorkspaceResponseSchema, { event: { case: "created", value: workspaceMessage(created) } });
    }),
    listWorkspaces: unary(log, "ListWorkspaces", (req) => ({ workspaces: ws.list(req.labels).map(workspaceMessage) })),
    getWorkspace: unary(log, "GetWorkspace", (req) => ({ workspace: workspaceMessage(ws.view(req.workspace)) })),
    updateWorkspace: unary(log, "UpdateWorkspace", async (req) => ({
      workspace: workspaceMessage(await ws.update(req.workspace, { name: req.name, setLabels: req.setLabels, clearLabels: req.clearLabels })),
    })),
    getWorkspaceLogs: unary(log, "GetWorkspaceLogs", async (req) => {
      const { entries, omitted } = await ws.logs(req.workspace, req.limit);
      // The response is bounded: the newest entries that fit in about 8 MiB.
      let room = 8 << 20;
      const kept = [];
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        room -= e.stdout.length + e.stderr.length + 512;
        if (room < 0) break;
        kept.unshift({ ...e, sequence: BigInt(e.sequence), durationMs: BigInt(Math.round(e.durationMs)) });
      }
      return { entries: kept, omitted: omitted + entries.length - kept.length };
    }),
    stopWorkspace: unary(log, "StopWorkspace", async (req) => ({ workspace: workspaceMessage(await ws.stop(req.workspace)) })),
    startWorkspace: unary(log, "StartWorkspace", async (req, ctx) => ({ workspace: workspaceMessage(await ws.start(req.workspace, ctx.signal)) })),
    deleteWorkspace: unary(log, "DeleteWorkspace", async (req) => ({ workspaceId: await ws.delete(req.workspace) })),
    execWorkspace: streaming(log, "ExecWorkspace", async function* (req, ctx): AsyncGenerator<ExecWorkspaceResponse> {
      const events = ws.exec(req.workspace, { argv: req.argv, shellCommand: req.shellCommand, cwd: req.cwd, env: req.env, timeoutSeconds: req.timeoutSeconds, stdin: req.stdin }, ctx.signal);
      for await (const e of events) {
        if (e.type === "started") {
          yield create(ExecWorkspaceResponseSchema, { event: { case: "started", value: { sequence: BigInt(e.sequence), pid: e.pid, executionMode: e.executionMode } } });
        } else if (e.type === "output") {
          yield create(ExecWorkspaceResponseSchema, { event: { case: "output", value: { stream: e.stream === "stderr" ? OutputStream.STDERR : OutputStream.STDOUT, data: e.data } } });
        } else {
          yield create(ExecWorkspaceResponseSchema, {
            event: { case: "exited", value: { ...e, sequence: BigInt(e.sequence), durationMs: BigInt(Math.round(e.durationMs)) } },
          });
        }
      }
    }),
    listWorkspaceFiles: unary(log, "ListWorkspaceFiles", async (req, ctx) => {
      const r = await files.list(req.workspace, req.path, req.recursive, ctx.signal);
      return { entries: r.entries.map((e) => ({ ...e, type: FILE_TYPES[e.type], sizeBytes: BigInt(e.sizeBytes) })), truncated: r.truncated };
    }),
    readWorkspaceFile: streaming(log, "ReadWorkspaceFile", async function* (req, ctx): AsyncGenerator<ReadWorkspaceFileResponse> {
      const r = await files.read(req.workspace, req.path, Number(req.maxBytes), ctx.signal);
      const data = Buffer.from(r.content, "utf8");
      for (let i = 0; i < data.length; i += CHUNK_BYTES) {
        yield create(ReadWorkspaceFileResponseSchema, { part: { case: "data", value: data.subarray(i, i + CHUNK_BYTES) } });
      }
      yield create(ReadWorkspaceFileResponseSchema, { part: { case: "done", value: { sizeBytes: BigInt(r.sizeBytes), truncated: r.truncated } } });
    }),
    writeWorkspaceFile: unary(log, "WriteWorkspaceFile", async (req, ctx) => {
      const r = await files.write(req.workspace, req.path, req.text, ctx.signal);
      return { path: req.path, bytesWritten: BigInt(r.bytesWritten) };
    }),
    applyWorkspacePatch: streaming(log, "ApplyWorkspacePatch", (req, ctx) => o.patches.apply(req.workspace, req.patch, ctx.signal)),
    pushWorkspaceArchive: unary(log, "PushWorkspaceArchive", async (reqs: AsyncIterable<PushWorkspaceArchiveRequest>, ctx) => {
      const { spec, chunks } = await specThenChunks<PushWorkspaceArchiveRequest, Extract<PushWorkspaceArchiveRequest["part"], { case: "spec" }>["value"]>(reqs, "spec", "chunk");
      const r = await files.push(spec.workspace, spec.dest, chunks, compression(spec.compression), ctx.signal);
      return { files: r.files, directories: r.directories, bytesWritten: BigInt(r.bytesWritten) };
    }),
    exportWorkspace: streaming(log, "ExportWorkspace", async function* (req, ctx): AsyncGenerator<ExportWorkspaceResponse> {
      const r = await files.export(req.workspace, req.path, ctx.signal);
      yield create(ExportWorkspaceResponseSchema, { part: { case: "started", value: { type: r.type, path: r.path } } });
      for await (const chunk of r.chunks) yield create(ExportWorkspaceResponseSchema, { part: { case: "chunk", value: chunk } });
    }),
    diffWorkspace: unary(log, "DiffWorkspace", (req, ctx) => files.diff(req.workspace, ctx.signal)),
    createSnapshot: unary(log, "CreateSnapshot", async (req, ctx) => {
      const s = await ws.createSnapshot(req.workspace, req.name, ctx.signal);
      return { snapshot: { ...s, sizeBytes: BigInt(s.sizeBytes) } };
    }),
    listSnapshots: unary(log, "ListSnapshots", (req) => ({ snapshots: ws.listSnapshots(req.workspace).map((s) => ({ ...s, sizeBytes: BigInt(s.sizeBytes) })) })),
    deleteSnapshot: unary(log, "DeleteSnapshot", async (req) => {
      await ws.deleteSnapshot(req.workspace, req.name);
      return {};
    }),
    resetWorkspace: unary(log, "ResetWorkspace", async (req, ctx) => ({ workspace: workspaceMessage(await ws.reset(req.workspace, req.snapshot, ctx.signal)) })),
    reapExpiredWorkspaces: unary(log, "ReapExpiredWorkspaces", async () => ({ workspaceIds: await ws.reapExpired() })),
  };
}
