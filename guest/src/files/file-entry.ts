/** A path's lstat as the FileEntry the host sees. */
import type { Stats } from "node:fs";
import { readlink } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { FileEntrySchema, FileType, type FileEntry } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";

/** What `st` is. */
export function fileType(st: Stats): FileType {
  if (st.isFile()) return FileType.FILE;
  if (st.isDirectory()) return FileType.DIRECTORY;
  if (st.isSymbolicLink()) return FileType.SYMLINK;
  return FileType.OTHER;
}

/** The entry for `rel` (relative to the workspace) at `abs`, whose lstat is `st`; reads a symlink's target. */
export async function fileEntry(rel: string, abs: string, st: Stats): Promise<FileEntry> {
  const type = fileType(st);
  // A symlink removed since the lstat has no target to report; it is listed without one.
  const linkTarget = type === FileType.SYMLINK ? await readlink(abs).catch(() => "") : "";
  return create(FileEntrySchema, {
    path: rel,
    type,
    sizeBytes: type === FileType.FILE ? BigInt(st.size) : 0n,
    mode: st.mode & 0o7777,
    linkTarget,
  });
}
