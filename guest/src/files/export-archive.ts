/**
 * ExportArchive: resolve (following a last symlink that stays inside) → send the header →
 * walk with lstat, never through a symlink, and stream a tar archive of what is there → done
 * with the counts. Files, directories and symlinks (as symlinks) go in; fifos, sockets and
 * devices are counted and left out. The walk runs alongside the sending and waits for it, so
 * a tree of any size takes a few chunks of memory.
 */
import { constants } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  ExportArchiveResponseSchema,
  FileType,
  type ExportArchiveRequest,
  type ExportArchiveResponse,
} from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { fsError } from "./fs-error.js";
import { openRegular } from "./read-file.js";
import { TarWriter } from "./tar-writer.js";
import type { WorkspaceResolver } from "./workspace-path.js";

/** Bytes of one chunk message: small tar pieces (headers, small files) are gathered up to this. */
export const EXPORT_CHUNK_BYTES = 256 << 10;
const READ_BYTES = 256 << 10;

interface Counts {
  entries: number;
  contentBytes: number;
  skipped: number;
}

/** Exactly `size` bytes of an open file: a file that shrank while read is padded with zeros, one that grew is cut. */
async function* exactly(fh: FileHandle, size: number): AsyncGenerator<Uint8Array> {
  let pos = 0;
  while (pos < size) {
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, size - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) {
      // Zeros past the end: the tar header already promised `size` bytes.
      pos += buf.length;
      yield buf.fill(0);
      continue;
    }
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

async function addFile(tar: TarWriter, name: string, abs: string, counts: Counts): Promise<void> {
  let opened: Awaited<ReturnType<typeof openRegular>>;
  try {
    opened = await openRegular(abs, name);
  } catch {
    // Removed or replaced (by a fifo, a symlink) since the walk saw it: left out.
    counts.skipped++;
    return;
  }
  const { fh, size } = opened;
  try {
    const st = await fh.stat();
    await tar.addFile({ name, type: "file", size, mode: st.mode & 0o7777, mtime: st.mtime }, exactly(fh, size));
    counts.entries++;
    counts.contentBytes += size;
  } finally {
    await fh.close();
  }
}

/** Adds what is below the directory `root`, named relative to it. */
async function addTree(tar: TarWriter, root: string, counts: Counts, signal: AbortSignal): Promise<void> {
  const stack: string[] = [""];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const names = await readdir(join(root, dir)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return []; // removed while we walked
      throw fsError(err, dir);
    });
    names.sort();
    const below: string[] = [];
    for (const n of names) {
      signal.throwIfAborted();
      const name = dir === "" ? n : `${dir}/${n}`;
      const abs = join(root, name);
      const st = await lstat(abs).catch(() => undefined);
      if (!st) continue;
      if (st.isFile()) {
        await addFile(tar, name, abs, counts);
      } else if (st.isDirectory()) {
        await tar.add({ name: `${name}/`, type: "directory", mode: st.mode & 0o7777, mtime: st.mtime });
        counts.entries++;
        below.push(name);
      } else if (st.isSymbolicLink()) {
        const linkname = await readlink(abs).catch(() => undefined);
        if (linkname === undefined) continue;
        await tar.add({ name, type: "symlink", linkname, mode: st.mode & 0o7777, mtime: st.mtime });
        counts.entries++;
      } else {
        counts.skipped++;
      }
    }
    // A directory's entry always comes before its contents: its subtree is walked after it.
    stack.push(...below.reverse());
  }
}

/** Gathers `source`'s pieces into chunks of about `size` bytes. */
async function* gather(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const piece of source) {
    parts.push(piece);
    bytes += piece.length;
    if (bytes >= size) {
      yield Buffer.concat(parts);
      parts = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield Buffer.concat(parts);
}

export async function* exportArchive(req: ExportArchiveRequest, resolver: WorkspaceResolver, signal: AbortSignal): AsyncGenerator<ExportArchiveResponse> {
  const root = await resolver.resolve(req.path, { followFinal: true });
  if (!root.stat) throw new PyroError("file_not_found", `${echoInput(req.path)} does not exist in the workspace`);
  const isDir = root.stat.isDirectory();
  if (!isDir && !root.stat.isFile()) throw new PyroError("invalid_argument", `${echoInput(req.path)} is neither a file nor a directory`);
  yield create(ExportArchiveResponseSchema, { part: { case: "header", value: { type: isDir ? FileType.DIRECTORY : FileType.FILE, path: root.rel } } });

  const counts: Counts = { entries: 0, contentBytes: 0, skipped: 0 };
  const tar = new TarWriter();
  const walking = (isDir ? addTree(tar, root.abs, counts, signal) : addFile(tar, basename(root.abs), root.abs, counts)).then(
    () => tar.finish(),
    (err: unknown) => {
      // The reader below then fails with this error.
      tar.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    },
  );
  walking.catch(() => {}); // awaited after the archive is read
  try {
    for await (const chunk of gather(tar.bytes(), EXPORT_CHUNK_BYTES)) {
      yield create(ExportArchiveResponseSchema, { part: { case: "chunk", value: chunk } });
    }
    await walking;
  } finally {
    // The caller went away or the walk failed: stop the walk where it waits.
    tar.destroy();
  }
  if (!isDir && counts.entries === 0) throw new PyroError("file_not_found", `${echoInput(req.path)} was removed while it was exported`);
  yield create(ExportArchiveResponseSchema, {
    part: { case: "done", value: { entries: BigInt(counts.entries), contentBytes: BigInt(counts.contentBytes), skipped: BigInt(counts.skipped) } },
  });
}
