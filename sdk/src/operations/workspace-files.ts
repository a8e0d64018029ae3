/** Table entries of a workspace's files: list, read, write, patch, push in, export out, diff. */
import { WORKSPACE_LIMITS } from "../contract/limits.js";
import { diffJson, diffSummary, exportJson, fileListJson, fileListSummary, fileReadJson, fileReadSummary, fileWriteJson, patchJson, patchSummary, pushJson } from "../json-workspace.js";
import { defineOperation } from "./spec.js";
import { IN_WORKSPACE, LOOP, MAX_OUTPUT_BYTES, READ_ONLY, WORKSPACE_ID } from "./workspace-params.js";

const CORE_AND_FULL = ["workspace-core", "workspace-full"] as const;
const PATH_MAX = 4096;

export const workspaceFileList = defineOperation({
  name: "workspace_file_list",
  title: "List files in a workspace",
  description: `List a directory of a workspace (default /workspace), or everything below it with recursive; symlinks are shown, never followed. ${IN_WORKSPACE}`,
  params: [
    WORKSPACE_ID,
    { name: "path", kind: "string", cli: "positional", maxLength: PATH_MAX, description: "Directory to list; default /workspace." },
    { name: "recursive", kind: "boolean", default: false, description: "List everything below the directory, not only its own entries." },
  ],
  annotations: READ_ONLY,
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.listWorkspaceFiles(a.workspace_id, { path: a.path, recursive: a.recursive, signal: ctx.signal }),
  json: fileListJson,
  summary: fileListSummary,
});

export const workspaceFileRead = defineOperation({
  name: "workspace_file_read",
  title: "Read a text file in a workspace",
  description: `Read a UTF-8 text file of a workspace (its first max_bytes; the result says its whole size and whether it was cut). Binary files are refused: use workspace_export. ${IN_WORKSPACE}`,
  params: [
    WORKSPACE_ID,
    { name: "path", kind: "string", required: true, cli: "positional", maxLength: PATH_MAX, description: "The file to read." },
    { name: "max_bytes", kind: "integer", default: WORKSPACE_LIMITS.fileRead.default, min: WORKSPACE_LIMITS.fileRead.min, max: WORKSPACE_LIMITS.fileRead.max, description: `Most bytes to return (at most ${WORKSPACE_LIMITS.fileRead.max}).` },
  ],
  annotations: READ_ONLY,
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.readWorkspaceFile(a.workspace_id, a.path, { maxBytes: a.max_bytes, signal: ctx.signal }),
  json: fileReadJson,
  summary: fileReadSummary,
});

export const workspaceFileWrite = defineOperation({
  name: "workspace_file_write",
  title: "Write a text file in a workspace",
  description: `Write a whole UTF-8 text file of a workspace (at most 1 MiB, no NUL), atomically: parent directories are made and an existing file's mode is kept. To change part of a file, prefer workspace_patch_apply. ${IN_WORKSPACE}`,
  params: [
    WORKSPACE_ID,
    { name: "path", kind: "string", required: true, cli: "positional", maxLength: PATH_MAX, description: "The file to write." },
    { name: "text", kind: "string", required: true, cli: "text_or_file", maxLength: WORKSPACE_LIMITS.fileWriteBytes, description: "The file's whole new content." },
  ],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.writeWorkspaceFile(a.workspace_id, a.path, a.text, { signal: ctx.signal }),
  json: fileWriteJson,
  summary: (j) => `Wrote ${j.bytes_written} bytes to ${j.path}.`,
});

export const workspacePatchApply = defineOperation({
  name: "workspace_patch_apply",
  title: "Apply a patch in a workspace",
  description:
    "Apply a unified diff (as `git diff` or `diff -u` write it; paths relative to /workspace, a/ and b/ prefixes allowed) to a workspace: adds, changes, deletes (and renames where git headers say so). " +
    "Every hunk must match exactly and nothing is written unless every file passes; a conflict names the file, the hunk and the lines that did not match (read the file again and retry, or workspace_reset). " +
    `At most 1 MiB. ${IN_WORKSPACE}`,
  params: [WORKSPACE_ID, { name: "patch", kind: "string", required: true, cli: "text_or_file", maxLength: WORKSPACE_LIMITS.patchBytes, description: "The unified diff." }],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.applyWorkspacePatch(a.workspace_id, a.patch, { signal: ctx.signal }),
  json: patchJson,
  summary: patchSummary,
});

export const workspaceSyncPush = defineOperation({
  name: "workspace_sync_push",
  title: "Push host files into a workspace",
  description: `Import a host directory, or a .tar, .tar.gz or .tgz archive, into a workspace under dest (default /workspace); existing files of the same names are replaced. ${IN_WORKSPACE}`,
  params: [
    WORKSPACE_ID,
    { name: "source_path", kind: "string", required: true, cli: "positional", maxLength: PATH_MAX, description: "The host directory or archive to import." },
    { name: "dest", kind: "string", maxLength: PATH_MAX, description: "Directory under /workspace to import into; default /workspace." },
  ],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.pushWorkspace(a.workspace_id, a.source_path, { dest: a.dest, signal: ctx.signal }),
  json: pushJson,
  summary: (j) => `Pushed ${j.files} files and ${j.directories} directories (${j.bytes_written} bytes) into ${j.dest || "/workspace"}.`,
});

export const workspaceExport = defineOperation({
  name: "workspace_export",
  title: "Export from a workspace",
  description:
    "Copy one file or directory of a workspace to a new path on the host. The host path must not exist yet; nothing is ever written outside it, whatever the workspace holds (links leading out, devices and `..` names are refused). " +
    `Use it to take results out, and for binary files. ${IN_WORKSPACE}`,
  params: [
    WORKSPACE_ID,
    { name: "path", kind: "string", required: true, cli: "positional", maxLength: PATH_MAX, description: "The file or directory to export." },
    { name: "output_path", kind: "string", required: true, flag: "output", maxLength: PATH_MAX, description: "The host path to create (a file or a directory, as what is exported); it must not exist." },
  ],
  // Writes on the host, but only a path that did not exist.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.exportWorkspace(a.workspace_id, a.path, a.output_path, { signal: ctx.signal }),
  json: exportJson,
  summary: (j) => `Exported the ${j.type} ${j.path || "/workspace"} to ${j.output_path} (${j.files} files, ${j.directories} directories, ${j.symlinks} symlinks, ${j.bytes_written} bytes).`,
});

export const workspaceDiff = defineOperation({
  name: "workspace_diff",
  title: "Diff a workspace against its baseline",
  description: "Compare /workspace with the workspace's baseline (what it was created or seeded with): a unified diff of the text files that changed, plus an entry for every changed path (binary, symlink and type changes included). Review it before exporting.",
  params: [WORKSPACE_ID, MAX_OUTPUT_BYTES],
  annotations: READ_ONLY,
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.diffWorkspace(a.workspace_id, { signal: ctx.signal }),
  json: (r, a) => diffJson(r, a.max_output_bytes),
  summary: diffSummary,
});
