/**
 * The manager's side of a sandbox's file tools: one object over the guest FileService client
 * of one sandbox. It checks what goes in (paths, text, sizes) and everything that comes back
 * (guest-reply-checks.ts), decides itself whether bytes are text, and turns every failure into
 * the client's error through the allow-list of agent-call-error.ts.
 */
import type { Client } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ArchiveCompression,
  FileType,
  type FileService,
  type ImportArchiveRequestSchema,
} from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { agentFileCallError } from "../agent-link/agent-call-error.js";
import type { Logger } from "../logger.js";
import { checkCount, checkEntry, checkRelPath, depthBelow, protocolError, type FileInfo } from "./guest-reply-checks.js";

/** Bytes a text read returns when the caller names no bound. */
export const READ_TEXT_DEFAULT_BYTES = 65_536;
/** The most bytes one text read returns. */
export const READ_TEXT_MAX_BYTES = 1 << 20;
/** The most bytes of UTF-8 one text write takes. */
export const WRITE_TEXT_MAX_BYTES = 1 << 20;
/** Entries a listing returns when the caller names no bound. */
export const LIST_DEFAULT_ENTRIES = 10_000;
/** The most entries a listing returns, whatever the caller asks. */
export const LIST_MAX_ENTRIES = 10_000;
/** The most bytes readBytes and writeBytes move in one call (a file a patch changes). */
export const BYTES_MAX_BYTES = 8 << 20;
/** Bytes an export may stream unless told otherwise. */
export const EXPORT_DEFAULT_MAX_BYTES = 64 * 2 ** 30;
/** Bytes of one archive chunk sent to the guest. */
const IMPORT_CHUNK_BYTES = 1 << 20;
const PATH_MAX_BYTES = 4096;

export interface FileListing {
  /** The directory listed (a symlink at its end followed), relative to /workspace. */
  path: string;
  /** Sorted by path. */
  entries: FileInfo[];
  /** True when entries were left out at the bound. */
  truncated: boolean;
}

export interface TextFile {
  /** The file's first bytes as text; a character cut by the bound is left out. */
  content: string;
  /** The file's whole size in bytes. */
  sizeBytes: number;
  /** True when only the first max_bytes were read. */
  truncated: boolean;
}

export interface ArchiveExport {
  type: "file" | "directory";
  /** What is exported, relative to /workspace. */
  path: string;
  /**
   * The tar archive's bytes; iterate it to the end, or stop early (break) to cancel the
   * export. It fails with the client's error, and never yields more than the bound.
   */
  chunks: AsyncIterable<Uint8Array>;
}

export interface ImportCounts {
  files: number;
  directories: number;
  symlinks: number;
  hardLinks: number;
  bytesWritten: number;
}

export interface GuestFilesOptions {
  /** The sandbox's id, for errors and the log. */
  sandbox: string;
  log: Logger;
}

/** A caller's path, checked before it goes to the guest (which checks it again). */
function checkPath(path: string): string {
  if (typeof path !== "string") throw new PyroError("invalid_argument", "a path must be a string");
  if (path.includes("\0")) throw new PyroError("invalid_argument", "a path must not contain NUL bytes");
  if (Buffer.byteLength(path) > PATH_MAX_BYTES) throw new PyroError("invalid_argument", `a path must be at most ${PATH_MAX_BYTES} bytes`);
  return path;
}

/** Lone surrogates: a JS string that has one cannot be written as UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;

export class GuestFiles {
  readonly #client: Client<typeof FileService>;
  readonly #o: GuestFilesOptions;

  constructor(client: Client<typeof FileService>, opts: GuestFilesOptions) {
    this.#client = client;
    this.#o = opts;
  }

  #error(err: unknown, operation: string): PyroError {
    return agentFileCallError(err, { sandbox: this.#o.sandbox, operation, log: this.#o.log });
  }

  async #call<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw this.#error(err, operation);
    }
  }

  /** Lists a directory (or everything below it): symlinks are listed, never followed. */
  async list(path: string, opts: { recursive?: boolean; maxEntries?: number; signal?: AbortSignal } = {}): Promise<FileListing> {
    checkPath(path);
    const max = Math.min(Math.max(1, Math.floor(opts.maxEntries ?? LIST_DEFAULT_ENTRIES)), LIST_MAX_ENTRIES);
    return this.#call(`list ${echoInput(path)}`, async () => {
      const res = await this.#client.listFiles({ path, recursive: opts.recursive ?? false, maxEntries: max }, { signal: opts.signal });
      if (res.entries.length > max) throw protocolError("a listing has more entries than asked for", res.entries.length);
      const dir = checkRelPath(res.path, "the listed directory");
      const entries = res.entries.map((e) => checkEntry(e, "a listed entry"));
      const single = entries.length === 1 && entries[0]!.path === dir && entries[0]!.type !== "directory";
      for (const e of single ? [] : entries) {
        const depth = depthBelow(e.path, dir);
        if (depth === undefined || (!opts.recursive && depth !== 1)) throw protocolError("a listed entry is not in the listed directory", e.path);
      }
      entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return { path: dir, entries, truncated: res.truncated };
    });
  }

  /** Describes one path without following a symlink at its end; undefined when nothing is there. */
  async stat(path: string, opts: { signal?: AbortSignal } = {}): Promise<FileInfo | undefined> {
    checkPath(path);
    return this.#call(`stat ${echoInput(path)}`, async () => {
      const res = await this.#client.stat({ path }, { signal: opts.signal });
      if (!res.exists) {
        if (res.entry) throw protocolError("a stat of nothing describes something");
        return undefined;
      }
      return checkEntry(res.entry, "the described path");
    });
  }

  /** Removes a file, a symlink or an empty directory; false when nothing was there. */
  async remove(path: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    checkPath(path);
    return this.#call(`remove ${echoInput(path)}`, async () => (await this.#client.removeFile({ path }, { signal: opts.signal })).existed);
  }

  /** Reads the first `maxBytes` (at most BYTES_MAX_BYTES) of a regular file, as bytes. */
  async readBytes(path: string, opts: { maxBytes: number; signal?: AbortSignal }): Promise<{ bytes: Uint8Array; sizeBytes: number; truncated: boolean }> {
    checkPath(path);
    const max = opts.maxBytes;
    if (!Number.isInteger(max) || max < 1 || max > BYTES_MAX_BYTES) throw new PyroError("invalid_argument", `max_bytes must be a whole number from 1 to ${BYTES_MAX_BYTES}`);
    return this.#call(`read ${echoInput(path)}`, async () => {
      const parts: Uint8Array[] = [];
      let got = 0;
      let done: { sizeBytes: number; truncated: boolean } | undefined;
      for await (const res of this.#client.readFile({ path, maxBytes: BigInt(max) }, { signal: opts.signal })) {
        if (done) throw protocolError("a read went on after its end");
        if (res.part.case === "data") {
          const n = res.part.value.length;
          if (n === 0) throw protocolError("a read sent an empty chunk");
          got += n;
          if (got > max) throw protocolError("a read sent more bytes than asked for", got);
          parts.push(res.part.value);
        } else if (res.part.case === "done") {
          const size = checkCount(res.part.value.sizeBytes, Number.MAX_SAFE_INTEGER, "a read's file size");
          if (size < got || res.part.value.truncated !== got < size) throw protocolError("a read's size and truncation do not match its bytes", size);
          done = { sizeBytes: size, truncated: res.part.value.truncated };
        } else {
          throw protocolError("a read sent a message of no known kind");
        }
      }
      if (!done) throw protocolError("a read ended without its end message");
      return { bytes: Buffer.concat(parts), ...done };
    });
  }

  /**
   * Reads the first `maxBytes` of a file as UTF-8 text. The guest sends bytes; whether they
   * are text is decided here: invalid UTF-8 or a NUL byte is `not_text`.
   */
  async readText(path: string, opts: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<TextFile> {
    const max = opts.maxBytes ?? READ_TEXT_DEFAULT_BYTES;
    if (!Number.isInteger(max) || max < 1 || max > READ_TEXT_MAX_BYTES) {
      throw new PyroError("invalid_argument", `max_bytes must be a whole number from 1 to ${READ_TEXT_MAX_BYTES}`);
    }
    const { bytes, sizeBytes, truncated } = await this.readBytes(path, { maxBytes: max, signal: opts.signal });
    return { content: decodeText(bytes, truncated, path), sizeBytes, truncated };
  }

  /** Replaces a file with `data` atomically, making its parents; `mode` sets its permission bits (else an existing file keeps its own). */
  async writeBytes(path: string, data: Uint8Array, opts: { mode?: number; signal?: AbortSignal } = {}): Promise<{ path: string; bytesWritten: number }> {
    checkPath(path);
    if (data.length > BYTES_MAX_BYTES) throw new PyroError("too_large", `${data.length} bytes; one write takes at most ${BYTES_MAX_BYTES}`);
    return this.#call(`write ${echoInput(path)}`, async () => {
      const res = await this.#client.writeFile({ path, data, modeIfNew: 0o644, createParents: true, mode: opts.mode }, { signal: opts.signal });
      const written = checkRelPath(res.path, "the written path");
      if (written === "") throw protocolError("a write names the workspace itself");
      if (res.bytesWritten !== BigInt(data.length)) throw protocolError("a write reports another size than was sent", res.bytesWritten);
      return { path: written, bytesWritten: data.length };
    });
  }

  /** Writes UTF-8 text (no NUL, at most 1 MiB) to a file atomically, making its parents; an existing file keeps its mode. */
  async writeText(path: string, text: string, opts: { signal?: AbortSignal } = {}): Promise<{ path: string; bytesWritten: number }> {
    checkPath(path);
    if (typeof text !== "string") throw new PyroError("invalid_argument", "the text must be a string");
    if (text.includes("\0")) throw new PyroError("not_text", "the text has a NUL byte; text files have none");
    if (LONE_SURROGATE.test(text)) throw new PyroError("not_text", "the text has a lone UTF-16 surrogate, which UTF-8 cannot hold");
    const data = Buffer.from(text, "utf8");
    if (data.length > WRITE_TEXT_MAX_BYTES) throw new PyroError("too_large", `the text has ${data.length} bytes; one write takes at most ${WRITE_TEXT_MAX_BYTES}`);
    return this.#call(`write ${echoInput(path)}`, async () => {
      const res = await this.#client.writeFile({ path, data, modeIfNew: 0o644, createParents: true }, { signal: opts.signal });
      const written = checkRelPath(res.path, "the written path");
      if (written === "") throw protocolError("a write names the workspace itself");
      if (res.bytesWritten !== BigInt(data.length)) throw protocolError("a write reports another size than was sent", res.bytesWritten);
      return { path: written, bytesWritten: data.length };
    });
  }

  /**
   * Streams a file or directory of the workspace as a tar archive. Resolves once the guest
   * said what it exports; the archive's own entries are checked by whoever unpacks it
   * (the SDK's extractor, sdk/src/archive/extract.ts), since only that side knows where they would land.
   */
  async exportArchive(path: string, opts: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<ArchiveExport> {
    checkPath(path);
    const operation = `export ${echoInput(path)}`;
    const maxBytes = opts.maxBytes ?? EXPORT_DEFAULT_MAX_BYTES;
    // Our own signal, so that a consumer who stops early ends the call.
    const abort = new AbortController();
    const onAbort = () => abort.abort(opts.signal?.reason);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const stop = () => {
      opts.signal?.removeEventListener("abort", onAbort);
      abort.abort();
    };
    const replies = this.#client.exportArchive({ path }, { signal: abort.signal })[Symbol.asyncIterator]();
    let header: { type: "file" | "directory"; path: string };
    try {
      const first = await replies.next();
      if (first.done || first.value.part.case !== "header") throw protocolError("an export did not start with its header");
      const h = first.value.part.value;
      const type = h.type === FileType.FILE ? "file" : h.type === FileType.DIRECTORY ? "directory" : undefined;
      if (!type) throw protocolError("an export's header names a type that cannot be exported", h.type);
      header = { type, path: checkRelPath(h.path, "the exported path") };
      if (type === "file" && header.path === "") throw protocolError("an export names the workspace itself as a file");
    } catch (err) {
      stop();
      throw this.#error(err, operation);
    }
    const error = (err: unknown) => this.#error(err, operation);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let total = 0;
      let ended = false;
      try {
        for (;;) {
          const next = await replies.next();
          if (next.done) break;
          const part = next.value.part;
          if (ended) throw protocolError("an export went on after its end");
          if (part.case === "chunk") {
            if (part.value.length === 0) throw protocolError("an export sent an empty chunk");
            total += part.value.length;
            if (total > maxBytes) throw new PyroError("too_large", `the export is larger than ${maxBytes} bytes`, { hint: "export a smaller directory" });
            yield part.value;
          } else if (part.case === "done") {
            checkCount(part.value.contentBytes, total, "an export's content size");
            checkCount(part.value.entries, total, "an export's entry count");
            ended = true;
          } else {
            throw protocolError("an export sent a message of no known kind");
          }
        }
        if (!ended) throw protocolError("an export ended without its end message");
      } catch (err) {
        throw error(err);
      } finally {
        stop();
      }
    }
    return { ...header, chunks: chunks() };
  }

  /**
   * Unpacks a tar archive (gzip-compressed when said) under a directory of the workspace,
   * made when missing. The guest refuses entries that would land outside /workspace, links
   * leading out and devices, naming the entry; what came before a refused entry stays.
   */
  async importArchive(dest: string, archive: AsyncIterable<Uint8Array>, opts: { gzip?: boolean; signal?: AbortSignal } = {}): Promise<ImportCounts> {
    checkPath(dest);
    // An error of the caller's own stream is the caller's, not the sandbox's: kept and thrown as it is.
    let sourceError: { err: unknown } | undefined;
    async function* requests(): AsyncGenerator<MessageInitShape<typeof ImportArchiveRequestSchema>> {
      yield { part: { case: "header", value: { dest, compression: opts.gzip ? ArchiveCompression.GZIP : ArchiveCompression.NONE } } };
      try {
        for await (const chunk of archive) {
          for (let at = 0; at < chunk.length; at += IMPORT_CHUNK_BYTES) {
            yield { part: { case: "chunk", value: chunk.subarray(at, at + IMPORT_CHUNK_BYTES) } };
          }
        }
      } catch (err) {
        sourceError = { err };
        throw err;
      }
    }
    try {
      const res = await this.#client.importArchive(requests(), { signal: opts.signal });
      return {
        files: res.files,
        directories: res.directories,
        symlinks: res.symlinks,
        hardLinks: res.hardLinks,
        bytesWritten: checkCount(res.bytesWritten, Number.MAX_SAFE_INTEGER, "an import's size"),
      };
    } catch (err) {
      if (sourceError) throw sourceError.err;
      throw this.#error(err, `import an archive into ${echoInput(dest)}`);
    }
  }
}

/** `bytes` as text, or `not_text`; a read cut by its bound may end inside a character, which is left out. */
function decodeText(bytes: Uint8Array, truncated: boolean, path: string): string {
  const notText = () => new PyroError("not_text", `${echoInput(path)} is not UTF-8 text`);
  if (bytes.includes(0)) throw notText();
  try {
    // `stream: true` holds back a character cut at the end instead of failing on it.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: truncated });
  } catch {
    throw notText();
  }
}
