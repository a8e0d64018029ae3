/**
 * The file tools of a workspace: list, read and write text, push and export archives, and diff
 * against the baseline. The guest does the file work and confines every path to /workspace;
 * the host checks sizes and text, and never follows a path into the guest's tree itself.
 */
import { createReadStream } from "node:fs";
import type { FileListing, TextFile } from "../files/guest-files.js";
import { indexArchive, INDEX_LIMITS } from "./tree-index.js";
import { diffTrees, type WorkspaceDiff } from "./workspace-diff.js";
import type { ArchiveCompression, Workspaces } from "./workspaces.js";

export const READ_DEFAULT_BYTES = 65_536;

export class WorkspaceFiles {
  constructor(private readonly ws: Workspaces) {}

  list(workspace: string, path: string, recursive: boolean, signal?: AbortSignal): Promise<FileListing> {
    return this.ws.filesOf(workspace).files.list(path, { recursive, signal });
  }

  /** The first `maxBytes` of a text file; `not_text` for anything else. */
  read(workspace: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<TextFile> {
    return this.ws.filesOf(workspace).files.readText(path, { maxBytes: maxBytes || READ_DEFAULT_BYTES, signal });
  }

  /** Writes UTF-8 text (no NUL, at most 1 MiB), atomically; an existing file keeps its mode. */
  write(workspace: string, path: string, text: string, signal?: AbortSignal): Promise<{ path: string; bytesWritten: number }> {
    return this.ws.mutate(workspace, (files) => files.writeText(path, text, { signal }));
  }

  /** Unpacks an archive under `dest` in /workspace. */
  push(workspace: string, dest: string, chunks: AsyncIterable<Uint8Array>, compression: ArchiveCompression, signal?: AbortSignal) {
    return this.ws.mutate(workspace, (files) => files.importArchive(dest, chunks, { gzip: compression === "gzip", signal }));
  }

  /** A file or directory under /workspace as a tar stream (the client unpacks it, refusing hostile entries). */
  export(workspace: string, path: string, signal?: AbortSignal) {
    return this.ws.filesOf(workspace).files.exportArchive(path, { signal });
  }

  /** /workspace against the baseline. */
  async diff(workspace: string, signal?: AbortSignal): Promise<WorkspaceDiff> {
    const { record, files } = this.ws.filesOf(workspace);
    const budget = { left: INDEX_LIMITS.keptTotalBytes };
    const baseline = await indexArchive(createReadStream(this.ws.baselinePath(record.id)), budget);
    const current = await indexArchive((await files.exportArchive("", { signal })).chunks, budget);
    return diffTrees(baseline, current);
  }
}
