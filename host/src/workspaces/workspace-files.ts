/**
 * The file tools of a workspace: list, read and write text, push and export archives, and diff
 * against the baseline. The guest does the file work and confines every path to /workspace;
 * the host checks sizes and text, and never follows a path into the guest's tree itself.
 */
import { createReadStream } from "node:fs";
import { PyroError } from "../../../sdk/src/errors.js";
import type { ArchiveCompression, GuestFileEntry } from "./guest-files-port.js";
import { indexArchive, INDEX_LIMITS } from "./tree-index.js";
import { diffTrees, type WorkspaceDiff } from "./workspace-diff.js";
import type { Workspaces } from "./workspaces.js";

export const READ_DEFAULT_BYTES = 65_536;
export const READ_MAX_BYTES = 16 << 20;
export const WRITE_MAX_BYTES = 1 << 20;


/** True when `data` is UTF-8 text without NUL; a character cut at the end of a truncated read is allowed. */
export function isText(data: Uint8Array, truncated: boolean): boolean {
  if (data.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(data, { stream: truncated });
    return true;
  } catch {
    return false;
  }
}

export class WorkspaceFiles {
  constructor(private readonly ws: Workspaces) {}

  list(workspace: string, path: string, recursive: boolean, signal?: AbortSignal): Promise<{ entries: GuestFileEntry[]; truncated: boolean }> {
    return this.ws.filesOf(workspace).files.list(path || "/workspace", recursive, signal);
  }

  /** The first `maxBytes` of a text file; `not_text` for anything else. */
  async read(workspace: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<{ data: Uint8Array; sizeBytes: number; truncated: boolean }> {
    const max = maxBytes || READ_DEFAULT_BYTES;
    if (max > READ_MAX_BYTES) throw new PyroError("invalid_argument", `max_bytes must be at most ${READ_MAX_BYTES}`);
    const r = await this.ws.filesOf(workspace).files.read(path, max, signal);
    if (r.data.length > max) throw new PyroError("sandbox_failed", "the agent sent more of the file than was asked for");
    if (!isText(r.data, r.truncated)) {
      throw new PyroError("not_text", `${path} is not UTF-8 text (${r.sizeBytes} bytes)`, { hint: "use `pyro workspace export` to copy binary files out" });
    }
    return r;
  }

  /** Writes UTF-8 text (no NUL, at most 1 MiB), atomically; an existing file keeps its mode. */
  write(workspace: string, path: string, text: string, signal?: AbortSignal): Promise<{ bytesWritten: number }> {
    const data = Buffer.from(text, "utf8");
    if (data.length > WRITE_MAX_BYTES) throw new PyroError("too_large", `the text is ${data.length} bytes; at most ${WRITE_MAX_BYTES} are written at once`);
    if (text.includes("\0")) throw new PyroError("not_text", "the text contains a NUL byte");
    return this.ws.mutate(workspace, (files) => files.write(path, data, { signal }));
  }

  /** Unpacks an archive under `dest` in /workspace. */
  push(workspace: string, dest: string, chunks: AsyncIterable<Uint8Array>, compression: ArchiveCompression, signal?: AbortSignal) {
    return this.ws.mutate(workspace, (files) => files.importArchive(dest || "/workspace", chunks, compression, signal));
  }

  /** A file or directory under /workspace as a tar stream (the client unpacks it, refusing hostile entries). */
  export(workspace: string, path: string, signal?: AbortSignal) {
    return this.ws.filesOf(workspace).files.exportArchive(path || "/workspace", signal);
  }

  /** /workspace against the baseline. */
  async diff(workspace: string, signal?: AbortSignal): Promise<WorkspaceDiff> {
    const { record, files } = this.ws.filesOf(workspace);
    const budget = { left: INDEX_LIMITS.keptTotalBytes };
    const baseline = await indexArchive(createReadStream(this.ws.baselinePath(record.id)), budget);
    const current = await indexArchive((await files.exportArchive("/workspace", signal)).chunks, budget);
    return diffTrees(baseline, current);
  }
}
