/** zod output schemas of the workspace operations' structured results (see `json-workspace.ts`). */
import { z } from "zod";

const limit = z.object({
  value: z.number().describe("The limit's value, in the unit its name gives."),
  enforced: z.boolean().describe("False when this host only records the limit; detail says why."),
  detail: z.string().describe("How it is enforced, or why it is not."),
});

/** Limits of a sandbox (CPU, memory in MiB, disk in MiB, processes). */
export const limitsSchema = z.object({ vcpu_count: limit, mem_mib: limit, disk_mib: limit, pids: limit });

const workspace = {
  workspace_id: z.string().describe("The id every workspace tool takes."),
  name: z.string().describe("Its unique name, usable instead of the id; empty when none."),
  labels: z.record(z.string(), z.string()),
  state: z.string().describe("started (commands and file tools work), stopped or failed (workspace_start brings it back)."),
  environment: z.string(),
  execution_mode: z.string().describe("The backend that runs it: namespace, host or firecracker."),
  created_at: z.string(),
  last_activity_at: z.string().describe("Time of the last change to it; reads do not count."),
  expires_at: z.string().describe("When the manager deletes it."),
  ttl_seconds: z.number().int(),
  limits: limitsSchema.describe("The limits it runs under, and which this host enforces."),
  seccomp: z.string(),
  network: z.boolean(),
  sandbox_id: z.string(),
  command_count: z.number().int().describe("Commands run since it was created or reset."),
  snapshots: z.array(z.string()),
  failure: z.string().describe("Why it failed, when it did."),
};

const output = {
  stdout: z.string().describe("Standard output (UTF-8; cut as stdout_truncated says)."),
  stderr: z.string().describe("Standard error (UTF-8; cut as stderr_truncated says)."),
  stdout_truncated: z.boolean().describe("True when stdout was cut (past 1 MiB, or past max_output_bytes with head and tail kept)."),
  stderr_truncated: z.boolean().describe("True when stderr was cut."),
};

const exec = {
  sequence: z.number().int().describe("The command's number in the workspace's journal."),
  execution_mode: z.string(),
  exit_code: z.number().int().describe("The exit status; -1 when a signal ended it."),
  signal: z.string().describe("The signal that ended it, e.g. SIGKILL; empty otherwise."),
  duration_ms: z.number(),
  timed_out: z.boolean().describe("True when its timeout ended it (its whole process group was killed)."),
  ...output,
};

const journalEntry = z.object({
  sequence: z.number().int(),
  argv: z.array(z.string()),
  cwd: z.string(),
  exit_code: z.number().int(),
  signal: z.string(),
  timed_out: z.boolean(),
  started_at: z.string(),
  duration_ms: z.number(),
  ...output,
});

const fileEntry = z.object({
  path: z.string().describe("Relative to /workspace."),
  type: z.string().describe("file, directory, symlink or other."),
  size_bytes: z.number(),
  mode: z.number().int(),
  link_target: z.string().describe("Where a symlink points; empty otherwise."),
});

const patchFile = z.object({
  path: z.string(),
  old_path: z.string(),
  operation: z.string().describe("modify, add, delete, rename, copy or mode."),
  status: z.string().describe("ok, conflict or error."),
  hunks: z.number().int(),
  added_lines: z.number().int(),
  removed_lines: z.number().int(),
  message: z.string(),
  conflict_hunk: z.number().int(),
  expected_lines: z.array(z.string()),
  actual_lines: z.array(z.string()),
});

const snapshot = { name: z.string(), created_at: z.string(), size_bytes: z.number() };

/** The output shapes of the workspace operations, by operation name. */
export const WORKSPACE_OUTPUT_SHAPES = {
  workspace_create: workspace,
  workspace_status: workspace,
  workspace_update: workspace,
  workspace_stop: workspace,
  workspace_start: workspace,
  workspace_reset: workspace,
  workspace_list: { workspaces: z.array(z.object(workspace)).describe("Most recently changed first.") },
  workspace_delete: { workspace_id: z.string(), deleted: z.boolean() },
  workspace_exec: exec,
  workspace_logs: { entries: z.array(journalEntry).describe("Oldest first."), omitted: z.number().int().describe("Older entries left out.") },
  workspace_file_list: { path: z.string(), entries: z.array(fileEntry), truncated: z.boolean() },
  workspace_file_read: {
    path: z.string(),
    content: z.string().describe("The text (its first max_bytes)."),
    size_bytes: z.number().describe("The whole file's size."),
    truncated: z.boolean().describe("True when only the first max_bytes are in content."),
  },
  workspace_file_write: { path: z.string(), bytes_written: z.number() },
  workspace_patch_apply: { changed: z.boolean(), files_changed: z.number().int(), files: z.array(patchFile).describe("Each file's preflight result.") },
  workspace_sync_push: { dest: z.string(), source: z.string(), files: z.number().int(), directories: z.number().int(), bytes_written: z.number() },
  workspace_export: {
    path: z.string(),
    type: z.string().describe("file or directory."),
    output_path: z.string().describe("The host path written."),
    files: z.number().int(),
    directories: z.number().int(),
    symlinks: z.number().int(),
    bytes_written: z.number(),
  },
  workspace_diff: {
    changed: z.boolean(),
    patch: z.string().describe("Unified diff of the text files that differ."),
    entries: z.array(z.object({ path: z.string(), change: z.string(), type: z.string(), binary: z.boolean() })),
    truncated: z.boolean(),
  },
  snapshot_create: snapshot,
  snapshot_list: { snapshots: z.array(z.object(snapshot)) },
  snapshot_delete: { snapshot_name: z.string(), deleted: z.boolean() },
} satisfies Record<string, z.ZodRawShape>;
