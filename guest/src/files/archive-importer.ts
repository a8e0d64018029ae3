/**
 * Unpacking one archive entry at a time under a directory of the workspace, refusing what
 * could land elsewhere: absolute names, `..`, links (symbolic or hard) that lead out, and
 * any entry whose parent is a symlink, whether the workspace had it or the archive made it
 * (nothing is ever written through a symlink). Devices and fifos are refused too. Every
 * refusal names the entry. Files are created with O_EXCL after what was at their path is
 * removed, so an existing symlink is replaced, never followed; a directory is never replaced.
 */
import { constants } from "node:fs";
import { chmod, link, lstat, mkdir, open, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Header } from "tar-stream";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError, type ErrorCode } from "../../../sdk/src/errors.js";
import { fsError } from "./fs-error.js";
import { relativeLinkStaysInside } from "./link-target.js";
import { PATH_MAX_BYTES } from "./workspace-path.js";

/** The most entries one archive may hold. */
export const IMPORT_MAX_ENTRIES = 1_000_000;

/** What an import made. */
export interface ImportCounts {
  files: number;
  directories: number;
  symlinks: number;
  hardLinks: number;
  bytesWritten: number;
}

/** One entry as tar-stream's parser yields it: its header, then its data. */
export type TarEntry = AsyncIterable<Uint8Array> & { header: Header };

/** Reads an entry's data to its end, so the archive moves on to the next entry. */
async function skip(entry: TarEntry): Promise<void> {
  for await (const _ of entry);
}

export class ArchiveImporter {
  readonly counts: ImportCounts = { files: 0, directories: 0, symlinks: 0, hardLinks: 0, bytesWritten: 0 };
  #entries = 0;
  /** Directories (relative to the destination) known to be real: checked or made by this import. */
  readonly #dirs = new Set<string>([""]);
  /** Directories whose mode leaves their owner out; set last, once nothing more goes into them. */
  readonly #lateModes: [string, number][] = [];

  /**
   * @param root the workspace directory, real.
   * @param dest the destination, a real directory `destRel` below `root`.
   */
  constructor(
    readonly root: string,
    readonly destRel: string,
  ) {}

  get #dest(): string {
    return this.destRel === "" ? this.root : join(this.root, this.destRel);
  }

  /** Unpacks one entry (reading its data to the end) or throws an error that names it. */
  async add(entry: TarEntry): Promise<void> {
    const name = entry.header.name;
    const refuse = (code: ErrorCode, why: string) => new PyroError(code, `archive entry ${echoInput(name)} ${why}`);
    if (++this.#entries > IMPORT_MAX_ENTRIES) throw new PyroError("too_large", `the archive has more than ${IMPORT_MAX_ENTRIES} entries`);
    try {
      const parts = this.#parts(name, refuse);
      const type = entry.header.type;
      if (parts.length === 0) {
        // "./": the destination itself.
        if (type !== "directory") throw refuse("unsafe_archive", "has no name");
        return await skip(entry);
      }
      const parent = await this.#parent(parts.slice(0, -1), refuse);
      const abs = join(parent, parts.at(-1)!);
      const rel = parts.join("/");
      const mode = (entry.header.mode ?? 0o644) & 0o777;
      switch (type) {
        case "directory":
          await this.#directory(abs, rel, mode, refuse);
          return await skip(entry);
        case "file":
        case "contiguous-file":
          return await this.#file(abs, entry, mode, refuse);
        case "symlink":
          await this.#symlink(abs, parts, entry.header.linkname ?? "", refuse);
          return await skip(entry);
        case "link":
          await this.#hardLink(abs, entry.header.linkname ?? "", refuse);
          return await skip(entry);
        case "character-device":
        case "block-device":
        case "fifo":
          throw refuse("unsafe_archive", `is a ${type}; archives may hold only files, directories and links`);
        default:
          throw refuse("unsafe_archive", `has an entry type pyro does not unpack (${echoInput(String(type))})`);
      }
    } catch (err) {
      if (err instanceof PyroError) throw err;
      const mapped = fsError(err, name);
      if (mapped instanceof PyroError) throw new PyroError(mapped.code, `archive entry ${mapped.message}`, { cause: err });
      throw err;
    }
  }

  /** Sets the modes left for last. */
  async finish(): Promise<void> {
    for (const [abs, mode] of this.#lateModes.reverse()) await chmod(abs, mode).catch(() => {});
  }

  /** An entry's name as components below the destination, refusing names that lead elsewhere. */
  #parts(name: string, refuse: (code: ErrorCode, why: string) => PyroError): string[] {
    if (name.includes("\0")) throw refuse("unsafe_archive", "has a NUL byte in its name");
    if (name.startsWith("/")) throw refuse("path_outside_workspace", "has an absolute name");
    const parts = name.split("/").filter((c) => c !== "" && c !== ".");
    if (parts.includes("..")) throw refuse("path_outside_workspace", "has `..` in its name");
    if (Buffer.byteLength(this.destRel) + Buffer.byteLength(name) + 1 > PATH_MAX_BYTES) throw refuse("invalid_argument", `has a name longer than ${PATH_MAX_BYTES} bytes`);
    return parts;
  }

  /** The real directory that holds an entry, made where missing; a symlink or a file on the way is refused. */
  async #parent(dirs: string[], refuse: (code: ErrorCode, why: string) => PyroError): Promise<string> {
    let rel = "";
    for (const d of dirs) {
      rel = rel === "" ? d : `${rel}/${d}`;
      if (this.#dirs.has(rel)) continue;
      const abs = join(this.#dest, rel);
      const st = await lstat(abs).catch(() => undefined);
      if (!st) {
        await mkdir(abs, { mode: 0o755 }).catch(async (err: NodeJS.ErrnoException) => {
          // Made meanwhile by someone else: fine if it is a real directory.
          if (err.code !== "EEXIST" || !(await lstat(abs)).isDirectory()) throw err;
        });
      } else if (st.isSymbolicLink()) {
        throw refuse("path_outside_workspace", `would be written through the symlink ${echoInput(rel)}`);
      } else if (!st.isDirectory()) {
        throw refuse("invalid_argument", `lies below ${echoInput(rel)}, which is not a directory`);
      }
      this.#dirs.add(rel);
    }
    return dirs.length === 0 ? this.#dest : join(this.#dest, rel);
  }

  /** Removes what is at `abs` so an entry can take its place; a directory stays (and is refused). */
  async #clear(abs: string, refuse: (code: ErrorCode, why: string) => PyroError): Promise<void> {
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) throw refuse("invalid_argument", "would replace a directory");
    await unlink(abs);
  }

  async #directory(abs: string, rel: string, mode: number, refuse: (code: ErrorCode, why: string) => PyroError): Promise<void> {
    const st = await lstat(abs).catch(() => undefined);
    if (!st?.isDirectory()) {
      await this.#clear(abs, refuse);
      await mkdir(abs, { mode: 0o700 });
    }
    // Until the import ends the owner may write in it; a mode that says otherwise comes last.
    await chmod(abs, mode | 0o700);
    if ((mode & 0o700) !== 0o700) this.#lateModes.push([abs, mode]);
    this.#dirs.add(rel);
    this.counts.directories++;
  }

  async #file(abs: string, entry: TarEntry, mode: number, refuse: (code: ErrorCode, why: string) => PyroError): Promise<void> {
    await this.#clear(abs, refuse);
    // O_EXCL: if anything (a symlink) appeared at the path since, the open fails instead of following it.
    const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of entry) {
        await fh.write(chunk);
        this.counts.bytesWritten += chunk.length;
      }
      await fh.chmod(mode);
      const mtime = entry.header.mtime;
      if (mtime && Number.isFinite(mtime.getTime())) await fh.utimes(mtime, mtime).catch(() => {});
    } finally {
      await fh.close();
    }
    this.counts.files++;
  }

  async #symlink(abs: string, parts: string[], target: string, refuse: (code: ErrorCode, why: string) => PyroError): Promise<void> {
    // Judged from the workspace's root, so a link may point at a sibling of the destination.
    const depth = (this.destRel === "" ? 0 : this.destRel.split("/").length) + parts.length - 1;
    const inside = target.startsWith("/") ? this.#absoluteInside(target) : relativeLinkStaysInside(target, depth);
    if (!inside) throw refuse("path_outside_workspace", `is a symlink to ${echoInput(target)}, outside the workspace`);
    await this.#clear(abs, refuse);
    await symlink(target, abs);
    this.counts.symlinks++;
  }

  /** An absolute symlink target is fine when it names the workspace directory itself, without `..`. */
  #absoluteInside(target: string): boolean {
    const root = this.root.split("/").filter((c) => c !== "");
    const parts = target.split("/").filter((c) => c !== "" && c !== ".");
    return !parts.includes("..") && !target.includes("\0") && parts.length >= root.length && root.every((c, i) => parts[i] === c);
  }

  async #hardLink(abs: string, target: string, refuse: (code: ErrorCode, why: string) => PyroError): Promise<void> {
    // A hard link names another entry of the archive, relative to the destination.
    if (target.startsWith("/")) throw refuse("path_outside_workspace", `is a hard link to the absolute path ${echoInput(target)}`);
    const parts = target.split("/").filter((c) => c !== "" && c !== ".");
    if (parts.length === 0 || parts.includes("..") || target.includes("\0")) {
      throw refuse("path_outside_workspace", `is a hard link to ${echoInput(target)}, outside the destination`);
    }
    let dir = this.#dest;
    for (const d of parts.slice(0, -1)) {
      dir = join(dir, d);
      const st = await lstat(dir).catch(() => undefined);
      if (st?.isSymbolicLink()) throw refuse("path_outside_workspace", `is a hard link through the symlink ${echoInput(d)}`);
      if (!st?.isDirectory()) throw refuse("unsafe_archive", `is a hard link to ${echoInput(target)}, which is not in the archive before it`);
    }
    const from = join(dir, parts.at(-1)!);
    const st = await lstat(from).catch(() => undefined);
    if (!st?.isFile()) throw refuse("unsafe_archive", `is a hard link to ${echoInput(target)}, which is not a file of the archive before it`);
    const here = await lstat(abs).catch(() => undefined);
    if (here && here.ino === st.ino && here.dev === st.dev) return;
    await this.#clear(abs, refuse);
    await link(from, abs);
    this.counts.hardLinks++;
  }
}
