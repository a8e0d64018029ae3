/**
 * The public, hand-written types of workspaces: persistent sandboxes an agent creates,
 * runs commands in, edits, diffs, exports and resets. Plain objects with camelCase keys and
 * numbers; the generated protobuf messages stay internal. Every method names its workspace
 * by id or by name.
 */
import type { CallOptions, LimitsInfo, OutputStreamName, PullProgressInfo } from "./types.js";

/** Where a workspace is in its life: `started` runs; `stopped` and `failed` keep their files, and `start` brings them back. */
export type WorkspaceStateName = "started" | "stopped" | "failed" | "unspecified";

/** A workspace's record, as the manager keeps it. */
export interface WorkspaceInfo {
  /** e.g. "ws-0123456789". */
  workspaceId: string;
  /** Unique among live workspaces; "" when none. Usable wherever an id is. */
  name: string;
  labels: Record<string, string>;
  state: WorkspaceStateName;
  environment: string;
  /** The backend that runs it: "namespace", "host" or "firecracker". */
  executionMode: string;
  /** RFC 3339. */
  createdAt: string;
  /** Time of the last change (exec, write, patch, reset, update…), RFC 3339; reads never move it. */
  lastActivityAt: string;
  /** When the manager deletes it, RFC 3339. */
  expiresAt: string;
  ttlSeconds: number;
  /** The limits it runs under, and which this host enforces. */
  limits: LimitsInfo;
  /** The seccomp filter its commands run under; "" when none (the host backend). */
  seccomp: string;
  network: boolean;
  /** Its current sandbox (a reset makes a new one). */
  sandboxId: string;
  /** Commands run since the last reset. */
  commandCount: number;
  /** Names of its snapshots. */
  snapshots: string[];
  /** Why it failed, when it did. */
  failure: string;
}

/** Options of `createWorkspace()`; unset numbers take the manager's defaults (1 vCPU, 1024 MiB, 4096 MiB of disk, 600 s). */
export interface CreateWorkspaceOptions extends CallOptions {
  vcpuCount?: number;
  memMib?: number;
  diskMib?: number;
  /** Lifetime in seconds from creation. */
  ttlSeconds?: number;
  /** Outbound network access (default: loopback only). */
  network?: boolean;
  /** Allow the "host" backend, which has no isolation. */
  allowHostCompat?: boolean;
  /** "namespace", "host" or "firecracker"; default: the manager's choice. */
  backend?: string;
  /** A name unique among live workspaces. */
  name?: string;
  labels?: Record<string, string>;
  /** A host directory, or a .tar/.tar.gz/.tgz archive, imported into /workspace as its baseline. */
  seedPath?: string;
  /** Environment install progress (only when the environment was missing). */
  onProgress?(progress: PullProgressInfo): void;
}

/** Options of `listWorkspaces()`. */
export interface ListWorkspacesOptions extends CallOptions {
  /** Only workspaces carrying every one of these labels. */
  labels?: Record<string, string>;
}

/** Options of `updateWorkspace()`: what to change. */
export interface UpdateWorkspaceOptions extends CallOptions {
  /** The new name; "" removes it. Unset keeps it. */
  name?: string;
  /** Labels to add or replace. */
  labels?: Record<string, string>;
  /** Label keys to remove. */
  clearLabels?: string[];
}

/** Options of `workspaceLogs()`. */
export interface WorkspaceLogsOptions extends CallOptions {
  /** At most this many of the latest entries (default: all that fit in one response). */
  limit?: number;
}

/** One command a workspace ran, as its journal keeps it. */
export interface JournalEntryInfo {
  /** Increasing from 1 in each workspace. */
  sequence: number;
  /** The command as argv (a shell command is ["/bin/sh", "-c", line]). */
  argv: string[];
  cwd: string;
  /** -1 when a signal ended it. */
  exitCode: number;
  signal: string;
  timedOut: boolean;
  /** RFC 3339. */
  startedAt: string;
  durationMs: number;
  /** Output kept (at most 1 MiB per stream), decoded as UTF-8. */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** A workspace's command journal, oldest first. */
export interface WorkspaceLogs {
  entries: JournalEntryInfo[];
  /** Entries left out (older ones, past the limit or the response's size bound). */
  omitted: number;
}

/** Sent once a workspace command's process exists. */
export interface ExecWorkspaceStartedInfo {
  /** Its journal sequence number. */
  sequence: number;
  pid: number;
  executionMode: string;
}

/** Options of `execWorkspace()`. */
export interface ExecWorkspaceOptions extends CallOptions {
  /** Working directory under /workspace (relative paths start there); default /workspace. */
  cwd?: string;
  env?: Record<string, string>;
  /** Seconds before the command's whole process group is killed (default 30); the result then says `timedOut`. */
  timeoutSeconds?: number;
  stdin?: Uint8Array | string;
  /** Live output, raw bytes per stream; a returned promise is awaited before more is read (a slow consumer slows the command). */
  onOutput?(stream: OutputStreamName, data: Uint8Array): void | Promise<void>;
  onStarted?(started: ExecWorkspaceStartedInfo): void;
}

/** A workspace command that ran to its end (a non-zero exit code or a timeout is a result, not an error). */
export interface ExecWorkspaceResult {
  /** Its journal sequence number. */
  sequence: number;
  executionMode: string;
  /** -1 when a signal ended it. */
  exitCode: number;
  signal: string;
  durationMs: number;
  /** True when its timeout ended it. */
  timedOut: boolean;
  /** Output (at most the first 1 MiB per stream), decoded as UTF-8. */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export type FileTypeName = "file" | "directory" | "symlink" | "other";

/** One entry of a listing under /workspace. */
export interface FileEntryInfo {
  /** Relative to /workspace, "/"-separated. */
  path: string;
  type: FileTypeName;
  /** Regular files only; 0 otherwise. */
  sizeBytes: number;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** Where a symlink points, as written in it; "" otherwise. */
  linkTarget: string;
}

/** Options of `listWorkspaceFiles()`. */
export interface ListWorkspaceFilesOptions extends CallOptions {
  /** Directory relative to /workspace (or absolute under it); default /workspace. */
  path?: string;
  /** Everything below, not only the directory's own entries. */
  recursive?: boolean;
}

/** A directory listing. */
export interface WorkspaceFileList {
  /** The directory listed, as asked ("" for /workspace). */
  path: string;
  /** Sorted by path. */
  entries: FileEntryInfo[];
  /** True when the listing stopped at its bound. */
  truncated: boolean;
}

/** Options of `readWorkspaceFile()`. */
export interface ReadWorkspaceFileOptions extends CallOptions {
  /** At most this many bytes (default 65536, at most 1 MiB). */
  maxBytes?: number;
  /** The bytes as they arrive (awaited), for callers that stream them on. */
  onData?(data: Uint8Array): void | Promise<void>;
}

/** A text file's content. */
export interface WorkspaceFileContent {
  path: string;
  /** UTF-8 text: the first `maxBytes` bytes (a character cut at the bound is dropped). */
  content: string;
  /** The whole file's size. */
  sizeBytes: number;
  truncated: boolean;
}

/** What a file write wrote. */
export interface WorkspaceFileWritten {
  /** Relative to /workspace. */
  path: string;
  bytesWritten: number;
}

export type PatchFileStatusName = "ok" | "conflict" | "error";

/** How one file of a patch fared in the preflight. */
export interface PatchFileResultInfo {
  /** Relative to /workspace (the new path of a rename or copy). */
  path: string;
  /** The path before a rename or copy; "" otherwise. */
  oldPath: string;
  /** "modify", "add", "delete", "rename", "copy" or "mode". */
  operation: string;
  status: PatchFileStatusName;
  hunks: number;
  addedLines: number;
  removedLines: number;
  /** What did not match or why it failed; "" when ok. */
  message: string;
  /** For a conflict: the 1-based hunk that did not apply (0 otherwise). */
  conflictHunk: number;
  /** For a conflict: the lines the hunk expected… */
  expectedLines: string[];
  /** …and the file's lines where it expected them. */
  actualLines: string[];
}

/** Options of `applyWorkspacePatch()`. */
export interface ApplyWorkspacePatchOptions extends CallOptions {
  /** Each file's preflight result as it comes. */
  onPreflight?(result: PatchFileResultInfo): void;
}

/**
 * A patch that applied. One that did not rejects with `patch_conflict` (or `patch_invalid`),
 * writing nothing, and its error's `data.files` holds every file's preflight result.
 */
export interface WorkspacePatchResult {
  changed: boolean;
  filesChanged: number;
  files: PatchFileResultInfo[];
}

/** Options of `pushWorkspace()`. */
export interface PushWorkspaceOptions extends CallOptions {
  /** Directory under /workspace to unpack into; default /workspace. */
  dest?: string;
}

/** What a push imported. */
export interface WorkspacePushResult {
  /** Where it went, as asked ("" for /workspace). */
  dest: string;
  /** "directory" when packed from a host directory, "archive" when an archive file was sent as it is. */
  source: "directory" | "archive";
  files: number;
  directories: number;
  bytesWritten: number;
}

/** What an export wrote on the host. */
export interface WorkspaceExportResult {
  /** What was exported, relative to /workspace. */
  path: string;
  type: "file" | "directory";
  /** The absolute host path written. */
  outputPath: string;
  files: number;
  directories: number;
  symlinks: number;
  bytesWritten: number;
}

/** One path that differs from the baseline. */
export interface DiffEntryInfo {
  path: string;
  /** "added", "deleted", "modified", "type_changed" or "mode_changed". */
  change: string;
  /** "file", "directory", "symlink" or "other". */
  type: string;
  /** Not text: the unified diff leaves it out. */
  binary: boolean;
}

/** /workspace compared with the baseline. */
export interface WorkspaceDiff {
  changed: boolean;
  /** Unified diff of the text files that differ (git style). */
  patch: string;
  entries: DiffEntryInfo[];
  /** True when the patch text was cut at its bound (1 MiB). */
  truncated: boolean;
}

/** A named copy of /workspace. */
export interface SnapshotInfo {
  name: string;
  /** RFC 3339. */
  createdAt: string;
  sizeBytes: number;
}

/** Options of `resetWorkspace()`. */
export interface ResetWorkspaceOptions extends CallOptions {
  /** Snapshot to go back to; default the baseline. */
  snapshot?: string;
}

/** The workspace methods of a client; `Pyro` implements them. */
export interface WorkspaceMethods {
  /** Creates and starts a workspace (installing the environment when missing), seeded from `seedPath` when given. */
  createWorkspace(environment: string, opts?: CreateWorkspaceOptions): Promise<WorkspaceInfo>;
  /** Live workspaces, most recently changed first. */
  listWorkspaces(opts?: ListWorkspacesOptions): Promise<WorkspaceInfo[]>;
  statusWorkspace(workspace: string, opts?: CallOptions): Promise<WorkspaceInfo>;
  updateWorkspace(workspace: string, opts: UpdateWorkspaceOptions): Promise<WorkspaceInfo>;
  workspaceLogs(workspace: string, opts?: WorkspaceLogsOptions): Promise<WorkspaceLogs>;
  stopWorkspace(workspace: string, opts?: CallOptions): Promise<WorkspaceInfo>;
  startWorkspace(workspace: string, opts?: CallOptions): Promise<WorkspaceInfo>;
  /** Resolves with the deleted workspace's id. */
  deleteWorkspace(workspace: string, opts?: CallOptions): Promise<{ workspaceId: string }>;
  execWorkspace(workspace: string, command: string[] | string, opts?: ExecWorkspaceOptions): Promise<ExecWorkspaceResult>;
  listWorkspaceFiles(workspace: string, opts?: ListWorkspaceFilesOptions): Promise<WorkspaceFileList>;
  readWorkspaceFile(workspace: string, path: string, opts?: ReadWorkspaceFileOptions): Promise<WorkspaceFileContent>;
  writeWorkspaceFile(workspace: string, path: string, text: string, opts?: CallOptions): Promise<WorkspaceFileWritten>;
  applyWorkspacePatch(workspace: string, patch: string, opts?: ApplyWorkspacePatchOptions): Promise<WorkspacePatchResult>;
  /** Imports a host directory or a .tar/.tar.gz/.tgz archive under /workspace. */
  pushWorkspace(workspace: string, sourcePath: string, opts?: PushWorkspaceOptions): Promise<WorkspacePushResult>;
  /** Copies a file or directory of /workspace to `outputPath` on the host, which must not exist yet. */
  exportWorkspace(workspace: string, path: string, outputPath: string, opts?: CallOptions): Promise<WorkspaceExportResult>;
  diffWorkspace(workspace: string, opts?: CallOptions): Promise<WorkspaceDiff>;
  createSnapshot(workspace: string, name: string, opts?: CallOptions): Promise<SnapshotInfo>;
  listSnapshots(workspace: string, opts?: CallOptions): Promise<SnapshotInfo[]>;
  deleteSnapshot(workspace: string, name: string, opts?: CallOptions): Promise<void>;
  /** Recreates the workspace's sandbox from its baseline (or a snapshot). */
  resetWorkspace(workspace: string, opts?: ResetWorkspaceOptions): Promise<WorkspaceInfo>;
  /** Deletes every workspace past its expiry now; resolves with their ids. */
  reapExpired(opts?: CallOptions): Promise<string[]>;
}
