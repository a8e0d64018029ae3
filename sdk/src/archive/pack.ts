/**
 * Archives the SDK sends to a workspace (a seed at creation, `sync push` later): a host
 * directory packed into a tar stream as it is read, or a `.tar`/`.tar.gz`/`.tgz` file
 * streamed as it is. Either way in chunks the wire takes, never whole in memory.
 */
import { constants, type ReadStream, type Stats } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { pack as tarPack, type Pack } from "tar-stream";
import { WORKSPACE_LIMITS } from "../contract/limits.js";
import { cut } from "../echo.js";
import { PyroError } from "../errors.js";

/** How an archive's bytes are compressed. */
export type Compression = "none" | "gzip";

/** An archive ready to send: its compression and its bytes, in chunks of at most `WORKSPACE_LIMITS.archiveChunkBytes`. */
export interface ArchiveSource {
  compression: Compression;
  /** "directory" when packed from a host directory, "archive" when a file is sent as it is. */
  from: "directory" | "archive";
  chunks(signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

const ARCHIVE_SUFFIXES: readonly (readonly [string, Compression])[] = [
  [".tar", "none"],
  [".tar.gz", "gzip"],
  [".tgz", "gzip"],
];

function shown(path: string): string {
  return cut(path, 200);
}

/**
 * The archive for `path`: a directory is packed; a file must be a `.tar`, `.tar.gz` or
 * `.tgz` archive. `what` names the argument in messages (e.g. "seed_path").
 */
export async function archiveSource(path: string, what: string): Promise<ArchiveSource> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    throw new PyroError("invalid_argument", `${what} ${shown(path)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: "give a host directory or a .tar, .tar.gz or .tgz archive that exists",
    });
  }
  if (st.isDirectory()) return { compression: "none", from: "directory", chunks: (signal) => rechunk(packDirectory(path, signal)) };
  const suffix = ARCHIVE_SUFFIXES.find(([s]) => path.toLowerCase().endsWith(s));
  if (!st.isFile() || !suffix) {
    throw new PyroError("invalid_argument", `${what} ${shown(path)} is neither a directory nor a .tar, .tar.gz or .tgz archive`, {
      hint: "give a host directory or a .tar, .tar.gz or .tgz archive",
    });
  }
  return { compression: suffix[1], from: "archive", chunks: () => readChunks(path) };
}

/** Opens a file for reading, never through a symlink (a file swapped for one meanwhile is not followed). */
async function openNoFollow(path: string, opts: { start?: number; end?: number } = {}): Promise<ReadStream> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  return fh.createReadStream({ ...opts, highWaterMark: WORKSPACE_LIMITS.archiveChunkBytes });
}

/** A file's bytes in wire-sized chunks. */
async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  yield* await openNoFollow(path);
}

/** Cuts chunks larger than the wire takes. */
async function* rechunk(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const max = WORKSPACE_LIMITS.archiveChunkBytes;
  for await (const chunk of source) {
    for (let i = 0; i < chunk.length; i += max) yield chunk.subarray(i, i + max);
  }
}

/** A regular file's first `size` bytes: exactly what its tar header promised (a file that shrank meanwhile fails the pack). */
async function writeFileEntry(p: Pack, name: string, path: string, st: Stats): Promise<void> {
  const file = st.size === 0 ? undefined : await openNoFollow(path, { start: 0, end: st.size - 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      const sink = p.entry({ name, size: st.size, mode: st.mode & 0o777, mtime: st.mtime, type: "file" }, (err) => (err ? reject(err) : resolve()));
      if (!file) {
        sink.end(null);
        return;
      }
      file.on("error", (err) => {
        sink.destroy(err);
        reject(err);
      });
      file.on("data", (chunk) => {
        if (!sink.write(chunk)) {
          file.pause();
          sink.once("drain", () => file.resume());
        }
      });
      file.on("end", () => sink.end(null));
    });
  } finally {
    file?.destroy();
  }
}

/** Adds `dir`'s entries under `prefix`, depth first, in name order (the same tree packs the same way). */
async function addTree(p: Pack, dir: string, prefix: string, signal: AbortSignal | undefined): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    if (signal?.aborted) throw new PyroError("cancelled", "cancelled while packing");
    const path = join(dir, name);
    const rel = prefix + name;
    const st = await lstat(path);
    if (st.isDirectory()) {
      await new Promise<void>((resolve, reject) => p.entry({ name: rel + "/", type: "directory", mode: st.mode & 0o777, mtime: st.mtime }, (err) => (err ? reject(err) : resolve())));
      await addTree(p, path, rel + "/", signal);
    } else if (st.isSymbolicLink()) {
      const target = await readlink(path);
      await new Promise<void>((resolve, reject) => p.entry({ name: rel, type: "symlink", linkname: target, mode: 0o777, mtime: st.mtime }, (err) => (err ? reject(err) : resolve())));
    } else if (st.isFile()) {
      await writeFileEntry(p, rel, path, st);
    } else {
      throw new PyroError("invalid_argument", `${shown(path)} is a socket, fifo or device; only files, directories and symlinks are sent`, {
        hint: "remove it, or send a copy of the directory without it",
      });
    }
  }
}

/** Packs a host directory's contents (not the directory itself) into a tar stream, as it reads them. */
export async function* packDirectory(dir: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const p = tarPack();
  let failure: unknown;
  const producing = addTree(p, dir, "", signal).then(
    () => p.finalize(),
    (err: unknown) => {
      failure = err;
      p.destroy(err instanceof Error ? err : new Error(String(err)));
    },
  );
  try {
    for await (const chunk of p) yield chunk as Uint8Array;
  } catch (err) {
    await producing;
    throw packError(failure ?? err, dir);
  } finally {
    // A consumer that stopped early: stop reading the directory too.
    if (!p.destroyed) p.destroy();
    await producing;
  }
  if (failure) throw packError(failure, dir);
}

function packError(err: unknown, dir: string): unknown {
  if (err instanceof PyroError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new PyroError("invalid_argument", `cannot pack ${shown(dir)}: ${code ?? (err as Error).message}`, {
    hint: "check that the directory can be read and does not change while it is sent",
    cause: err,
  });
}
