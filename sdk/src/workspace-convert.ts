/** Generated workspace messages → the SDK's public workspace types (bigint → number, enums → names, bytes → text). */
import { FileType, PatchFileStatus, WorkspaceState, type DiffEntry, type FileEntry, type JournalEntry, type PatchFileResult, type Snapshot, type Workspace } from "../../proto/gen/pyro/manager/v1/workspace_pb.js";
import { toLimits } from "./convert.js";
import type { DiffEntryInfo, FileEntryInfo, FileTypeName, JournalEntryInfo, PatchFileResultInfo, PatchFileStatusName, SnapshotInfo, WorkspaceInfo, WorkspaceStateName } from "./workspace-types.js";

const STATES: Record<WorkspaceState, WorkspaceStateName> = {
  [WorkspaceState.UNSPECIFIED]: "unspecified",
  [WorkspaceState.STARTED]: "started",
  [WorkspaceState.STOPPED]: "stopped",
  [WorkspaceState.FAILED]: "failed",
};

const FILE_TYPES: Record<FileType, FileTypeName> = {
  [FileType.UNSPECIFIED]: "other",
  [FileType.FILE]: "file",
  [FileType.DIRECTORY]: "directory",
  [FileType.SYMLINK]: "symlink",
  [FileType.OTHER]: "other",
};

const PATCH_STATUSES: Record<PatchFileStatus, PatchFileStatusName> = {
  // A file the manager did not classify did not pass.
  [PatchFileStatus.UNSPECIFIED]: "error",
  [PatchFileStatus.OK]: "ok",
  [PatchFileStatus.CONFLICT]: "conflict",
  [PatchFileStatus.ERROR]: "error",
};

const utf8 = new TextDecoder("utf-8");

export function toWorkspace(w: Workspace): WorkspaceInfo {
  return {
    workspaceId: w.workspaceId,
    name: w.name,
    labels: { ...w.labels },
    state: STATES[w.state] ?? "unspecified",
    environment: w.environment,
    executionMode: w.executionMode,
    createdAt: w.createdAt,
    lastActivityAt: w.lastActivityAt,
    expiresAt: w.expiresAt,
    ttlSeconds: w.ttlSeconds,
    limits: toLimits(w.limits),
    seccomp: w.seccomp,
    network: w.network,
    sandboxId: w.sandboxId,
    commandCount: w.commandCount,
    snapshots: [...w.snapshots],
    failure: w.failure,
  };
}

export function toJournalEntry(e: JournalEntry): JournalEntryInfo {
  return {
    sequence: Number(e.sequence),
    argv: [...e.argv],
    cwd: e.cwd,
    exitCode: e.exitCode,
    signal: e.signal,
    timedOut: e.timedOut,
    startedAt: e.startedAt,
    durationMs: Number(e.durationMs),
    stdout: utf8.decode(e.stdout),
    stderr: utf8.decode(e.stderr),
    stdoutTruncated: e.stdoutTruncated,
    stderrTruncated: e.stderrTruncated,
  };
}

export function toFileEntry(f: FileEntry): FileEntryInfo {
  return { path: f.path, type: FILE_TYPES[f.type] ?? "other", sizeBytes: Number(f.sizeBytes), mode: f.mode, linkTarget: f.linkTarget };
}

export function toPatchFileResult(r: PatchFileResult): PatchFileResultInfo {
  return {
    path: r.path,
    oldPath: r.oldPath,
    operation: r.operation,
    status: PATCH_STATUSES[r.status] ?? "error",
    hunks: r.hunks,
    addedLines: r.addedLines,
    removedLines: r.removedLines,
    message: r.message,
    conflictHunk: r.conflictHunk,
    expectedLines: [...r.expectedLines],
    actualLines: [...r.actualLines],
  };
}

export function toDiffEntry(d: DiffEntry): DiffEntryInfo {
  return { path: d.path, change: d.change, type: d.type, binary: d.binary };
}

export function toSnapshot(s: Snapshot): SnapshotInfo {
  return { name: s.name, createdAt: s.createdAt, sizeBytes: Number(s.sizeBytes) };
}
