/**
 * ListFiles: resolve the directory → walk it with lstat, never through a symlink (each
 * directory's own entries, then its subdirectories one by one) → stop at the entry or byte
 * bound and say so → sort by path. A path that is not a directory lists as its own entry.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { ListFilesResponseSchema, type FileEntry, type ListFilesRequest, type ListFilesResponse } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { fileEntry } from "./file-entry.js";
import { fsError } from "./fs-error.js";
import type { WorkspaceResolver } from "./workspace-path.js";

/** Entries listed when the request names no bound. */
export const LIST_DEFAULT_ENTRIES = 10_000;
/** The most entries one listing sends, whatever the request asks. */
export const LIST_MAX_ENTRIES = 100_000;
/** Bytes of paths and link targets one listing sends, well under the host's 4 MiB message bound. */
export const LIST_MAX_BYTES = 2 << 20;

export async function listFiles(req: ListFilesRequest, resolver: WorkspaceResolver, signal: AbortSignal): Promise<ListFilesResponse> {
  const max = Math.min(req.maxEntries === 0 ? LIST_DEFAULT_ENTRIES : req.maxEntries, LIST_MAX_ENTRIES);
  const dir = await resolver.resolve(req.path, { followFinal: true });
  if (!dir.stat) throw new PyroError("file_not_found", `${echoInput(req.path)} does not exist in the workspace`);
  if (!dir.stat.isDirectory()) return create(ListFilesResponseSchema, { entries: [await fileEntry(dir.rel, dir.abs, dir.stat)], path: dir.rel });

  const entries: FileEntry[] = [];
  let bytes = 0;
  let truncated = false;
  // Directories still to read, next one last; each is read when its turn comes, so the walk
  // holds one directory's names per level, not the tree.
  const stack: { rel: string; abs: string }[] = [{ rel: dir.rel, abs: dir.abs }];
  walk: while (stack.length > 0) {
    signal.throwIfAborted();
    const d = stack.pop()!;
    const names = await readdir(d.abs).catch((err: NodeJS.ErrnoException) => {
      // Removed while we walked: it has nothing left to list.
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return [];
      throw fsError(err, d.rel);
    });
    names.sort();
    const below: { rel: string; abs: string }[] = [];
    for (const name of names) {
      const rel = d.rel === "" ? name : `${d.rel}/${name}`;
      const abs = join(d.abs, name);
      const st = await lstat(abs).catch(() => undefined);
      if (!st) continue;
      const entry = await fileEntry(rel, abs, st);
      bytes += Buffer.byteLength(entry.path) + Buffer.byteLength(entry.linkTarget) + 32;
      if (entries.length >= max || bytes > LIST_MAX_BYTES) {
        truncated = true;
        break walk;
      }
      entries.push(entry);
      if (req.recursive && st.isDirectory()) below.push({ rel, abs });
    }
    // Depth first over directories, the first subdirectory next.
    stack.push(...below.reverse());
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return create(ListFilesResponseSchema, { entries, truncated, path: dir.rel });
}
