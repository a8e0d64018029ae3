/**
 * Unpacking an exported tar archive at a host path chosen by the user, whatever the archive
 * holds. The archive comes from a sandbox, so every entry is hostile until checked: absolute
 * names, `..`, hard links, devices, fifos, symlinks that lead out of the output and entries
 * below a symlink are refused (`unsafe_archive`, naming the entry); sizes, entry counts and
 * name lengths are bounded before anything is buffered or written. Nothing is written outside
 * the output path: it must not exist, every directory below it is one this extraction made,
 * and files and links are created with O_EXCL, never through a symlink. On failure, what this
 * extraction made is removed, and nothing else.
 *
 * Depends on node and tar-stream only (and the shared error type), so the client side can
 * unpack exports itself one day.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, rmdir, stat, symlink, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { extract, type Header } from "tar-stream";
import { PyroError, type ErrorCode } from "../../../sdk/src/errors.js";

export interface ExtractLimits {
  /** Entries the archive may hold. */
  maxEntries: number;
  /** Bytes of file content in all. */
  maxBytes: number;
  /** Bytes of an entry's path (UTF-8). */
  maxPathBytes: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxEntries: 1_000_000, maxBytes: 64 * 2 ** 30, maxPathBytes: 4096 };
/** Linux's NAME_MAX: bytes of one name. */
const NAME_MAX_BYTES = 255;

export interface ExtractOptions {
  /** What the archive holds: one file (written at `output`) or a directory's contents (written below `output`). */
  type: "file" | "directory";
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
}

export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content written. */
  bytes: number;
}

/** An entry as tar-stream's parser yields it: its header, then its data. */
type TarEntry = AsyncIterable<Uint8Array> & { header: Header };

// Control and format characters (terminal escapes, bidi overrides) in a name become "?".
const UNSAFE_CHARS = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** An archive's name, fit for an error message: cleaned, cut, quoted. */
function shown(name: string): string {
  const head = name.length > 200 ? `${name.slice(0, 200)}…` : name;
  return JSON.stringify(head.replace(UNSAFE_CHARS, "?"));
}

/** `target`, written in a symlink `depth` directories below the root, stays below the root (see guest/src/files/link-target.ts). */
function linkStaysInside(target: string, depth: number): boolean {
  if (target === "" || target.startsWith("/") || target.includes("\0")) return false;
  let level = depth;
  let named = false;
  for (const c of target.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (named || --level < 0) return false;
    } else {
      named = true;
    }
  }
  return true;
}

/** The parser was closed while the archive was fed to it: the failure is elsewhere. */
class ParserClosed extends Error {}

/** Resolves once `stream` takes writes again; rejects once it is closed instead. */
function drained(stream: {
  readonly destroying: boolean;
  once(e: "drain" | "close", f: () => void): unknown;
  off(e: "drain" | "close", f: () => void): unknown;
}): Promise<void> {
  return new Promise((ok, fail) => {
    // Closed already: its 'close' has gone by.
    if (stream.destroying) return fail(new ParserClosed("the archive parser was closed"));
    const onDrain = () => (stream.off("close", onClose), ok());
    const onClose = () => (stream.off("drain", onDrain), fail(new ParserClosed("the archive parser was closed")));
    stream.once("drain", onDrain);
    stream.once("close", onClose);
  });
}

/** One extraction: what it made (to undo it) and what it counted. */
class Extraction {
  readonly result: ExtractResult = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  /** Paths made, in order, each with whether it is a directory. */
  readonly made: { abs: string; dir: boolean }[] = [];
  /** Relative paths of the directories made, and of every entry made (to refuse a second one). */
  readonly #dirs = new Set<string>([""]);
  readonly #taken = new Set<string>();
  readonly #symlinks = new Set<string>();
  #entries = 0;

  constructor(
    readonly output: string,
    readonly type: "file" | "directory",
    readonly limits: ExtractLimits,
  ) {}

  async add(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const refuse = (why: string, code: ErrorCode = "unsafe_archive") => new PyroError(code, `the exported archive's entry ${shown(h.name)} ${why}`);
    if (++this.#entries > this.limits.maxEntries) throw new PyroError("too_large", `the exported archive has more than ${this.limits.maxEntries} entries`);
    if (h.name.includes("\0")) throw refuse("has a NUL byte in its name");
    if (h.name.startsWith("/")) throw refuse("has an absolute name");
    if (Buffer.byteLength(h.name) > this.limits.maxPathBytes) throw refuse(`has a name longer than ${this.limits.maxPathBytes} bytes`);
    const parts = h.name.split("/").filter((c) => c !== "" && c !== ".");
    if (parts.includes("..")) throw refuse("has `..` in its name");
    if (parts.some((c) => Buffer.byteLength(c) > NAME_MAX_BYTES)) throw refuse(`has a name part longer than ${NAME_MAX_BYTES} bytes`);
    const rel = parts.join("/");

    if (this.type === "file") {
      if (this.#entries > 1) throw refuse("follows the file's own entry; a file's export holds one");
      if (h.type !== "file" && h.type !== "contiguous-file") throw refuse(`is a ${h.type}; a file's export holds one regular file`);
      if (parts.length !== 1) throw refuse("is not named as the exported file");
      return this.#file(this.output, entry, refuse);
    }

    if (parts.length === 0) {
      if (h.type !== "directory") throw refuse("has no name");
      return; // "./": the output directory itself
    }
    if (this.#taken.has(rel) && !(h.type === "directory" && this.#dirs.has(rel))) throw refuse("appears twice");
    const parent = await this.#parent(parts.slice(0, -1), refuse);
    const abs = join(parent, parts.at(-1)!);
    switch (h.type) {
      case "directory":
        if (!this.#dirs.has(rel)) await this.#mkdir(abs, rel, h.mode);
        break;
      case "file":
      case "contiguous-file":
        await this.#file(abs, entry, refuse);
        break;
      case "symlink": {
        const target = h.linkname ?? "";
        if (!linkStaysInside(target, parts.length - 1)) throw refuse(`is a symlink to ${shown(target)}, which leads out of the export`);
        await symlink(target, abs);
        this.made.push({ abs, dir: false });
        this.#symlinks.add(rel);
        this.result.symlinks++;
        break;
      }
      case "link":
        throw refuse("is a hard link; exports may hold only files, directories and symlinks");
      default:
        throw refuse(`is a ${h.type}; exports may hold only files, directories and symlinks`);
    }
    this.#taken.add(rel);
  }

  /** The directory that holds an entry: made by this extraction (now if missing), never a symlink. */
  async #parent(dirs: string[], refuse: (why: string) => PyroError): Promise<string> {
    let rel = "";
    for (const d of dirs) {
      rel = rel === "" ? d : `${rel}/${d}`;
      if (this.#symlinks.has(rel)) throw refuse(`lies below the symlink ${shown(rel)}`);
      if (this.#dirs.has(rel)) continue;
      if (this.#taken.has(rel)) throw refuse(`lies below ${shown(rel)}, which is not a directory`);
      await this.#mkdir(join(this.output, rel), rel, 0o755);
      this.#taken.add(rel);
    }
    return rel === "" ? this.output : join(this.output, rel);
  }

  async #mkdir(abs: string, rel: string, mode: number): Promise<void> {
    // mkdir does not follow a symlink at its last component, and fails on anything there.
    await mkdir(abs, { mode: (mode & 0o777) | 0o700 });
    this.made.push({ abs, dir: true });
    this.#dirs.add(rel);
    this.result.directories++;
  }

  async #file(abs: string, entry: TarEntry, refuse: (why: string, code?: ErrorCode) => PyroError): Promise<void> {
    const size = entry.header.size;
    if (!Number.isSafeInteger(size) || size < 0) throw refuse("declares a size no file has");
    if (size > this.limits.maxBytes - this.result.bytes) throw refuse(`would take the export past ${this.limits.maxBytes} bytes`, "too_large");
    // The owner may always read and write what it exported.
    const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, (entry.header.mode & 0o777) | 0o600);
    this.made.push({ abs, dir: false });
    try {
      for await (const chunk of entry) {
        await fh.write(chunk);
        this.result.bytes += chunk.length;
      }
      const mtime = entry.header.mtime;
      if (mtime instanceof Date && Number.isFinite(mtime.getTime())) await fh.utimes(mtime, mtime).catch(() => {});
    } finally {
      await fh.close();
    }
    this.result.files++;
  }

  /** Removes what this extraction made, deepest first; a directory someone else put things in stays. */
  async undo(): Promise<void> {
    for (const { abs, dir } of this.made.reverse()) {
      await (dir ? rmdir(abs) : unlink(abs)).catch(() => {});
    }
  }
}

/**
 * Writes the exported archive `archive` at `output`, which must not exist (its parent must).
 * For a directory, `output` becomes the directory; for a file, the file.
 */
export async function extractExport(archive: AsyncIterable<Uint8Array>, output: string, opts: ExtractOptions): Promise<ExtractResult> {
  const limits = { ...DEFAULT_EXTRACT_LIMITS, ...opts.limits };
  const out = resolve(output);
  const parent = await stat(dirname(out)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new PyroError("invalid_argument", `the directory of ${JSON.stringify(out)} does not exist`, { hint: "create it first, or choose another --output" });
  if (await lstat(out).catch(() => undefined)) {
    throw new PyroError("invalid_argument", `${JSON.stringify(out)} already exists; export does not overwrite`, { hint: "choose a path that does not exist, or remove it first" });
  }

  const job = new Extraction(out, opts.type, limits);
  const parser = extract();
  // Listen for entries before the first byte goes in: the parser does not keep one no one takes.
  const entries = parser[Symbol.asyncIterator]();
  // The source's own failure (the guest's stream broke, or was refused by its checks), kept
  // before the parser is stopped with it: it says more than the parser's echo of it.
  let sourceFailure: { err: unknown } | undefined;
  const feeding = (async () => {
    for await (const buf of archive) {
      opts.signal?.throwIfAborted();
      if (!parser.write(buf)) await drained(parser);
    }
    parser.end(null);
  })();
  feeding.catch((err: unknown) => {
    if (!(err instanceof ParserClosed)) sourceFailure = { err };
    parser.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  try {
    if (opts.type === "directory") {
      await mkdir(out, { mode: 0o755 });
      job.made.push({ abs: out, dir: true });
    }
    for (let next = await entries.next(); !next.done; next = await entries.next()) {
      opts.signal?.throwIfAborted();
      await job.add(next.value as TarEntry);
    }
    await feeding;
    if (opts.type === "file" && job.result.files !== 1) throw new PyroError("unsafe_archive", "the exported archive holds no file");
    return job.result;
  } catch (err) {
    // Not waiting for the feeding: it may wait on a source that sends nothing more (the
    // caller cancels it; see exportToHost). The parser refuses whatever it still brings.
    parser.destroy(null);
    await job.undo();
    if (sourceFailure) throw sourceFailure.err;
    // Ours (a refused entry) or the file system's (the host's disk): as they are.
    if (err instanceof PyroError || (err as NodeJS.ErrnoException).code !== undefined) throw err;
    throw new PyroError("unsafe_archive", `the exported archive is damaged: ${shown(err instanceof Error ? err.message : String(err))}`, { cause: err });
  }
}
