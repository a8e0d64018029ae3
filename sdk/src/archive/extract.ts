/**
 * Unpacks a tar stream that came from a sandbox (hostile by assumption) to a host path, and
 * never writes outside that path, whatever the archive holds:
 * - names are relative, without `..`; absolute names are refused;
 * - only regular files, directories and symlinks; hard links, devices and fifos are refused;
 * - nothing is written through a symlink or over an entry already made (a name seen twice is refused);
 * - every symlink must resolve inside the output, following the other symlinks of the
 *   archive as the kernel would (checked once all entries are known, as a later entry can
 *   change where an earlier link leads);
 * - the output path must not exist; on any failure everything this call made is removed,
 *   and nothing else.
 */
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, rm, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Readable as NodeReadable } from "node:stream";
import { extract as tarExtract, type Header } from "tar-stream";
import { cut } from "../echo.js";
import { PyroError } from "../errors.js";

export interface ExtractOptions {
  /**
   * `directory`: the output becomes a directory holding the archive's entries.
   * `file`: the archive holds exactly one regular file, written at the output path.
   */
  kind: "file" | "directory";
  signal?: AbortSignal;
}

/** What an extraction wrote. */
export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content written. */
  bytesWritten: number;
}

type Node = { kind: "directory"; mode: number } | { kind: "file" } | { kind: "symlink"; target: string };

/** Symlinks followed while resolving one link, as the kernel's own bound (ELOOP). */
const MAX_HOPS = 40;

function unsafe(message: string): PyroError {
  return new PyroError("unsafe_archive", message);
}

function shown(name: string): string {
  return JSON.stringify(cut(name, 200));
}

/** The entry's path inside the output as components; [] is the output itself. Refuses absolute names and `..`. */
export function entryPath(name: string): string[] {
  if (name.includes("\0")) throw unsafe(`an archive entry name holds a NUL byte: ${shown(name)}`);
  if (name.startsWith("/")) throw unsafe(`archive entry ${shown(name)} has an absolute name`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw unsafe(`archive entry ${shown(name)} leads out of its directory with ..`);
  return parts;
}

/**
 * Where `target`, read from a symlink in directory `dir`, leads: the components of the path
 * under the output, or null when it leads out (or loops). Symlinks of `tree` are followed;
 * names the archive did not make are plain components.
 */
export function resolveLink(tree: ReadonlyMap<string, Node>, dir: readonly string[], target: string, budget = { hops: MAX_HOPS }): string[] | null {
  if (target.startsWith("/")) return null;
  let stack = [...dir];
  for (const c of target.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (stack.length === 0) return null;
      stack.pop();
      continue;
    }
    stack.push(c);
    const node = tree.get(stack.join("/"));
    if (node?.kind === "symlink") {
      if (--budget.hops < 0) return null;
      stack.pop();
      const next = resolveLink(tree, stack, node.target, budget);
      if (!next) return null;
      stack = next;
    }
  }
  return stack;
}

function entryKind(h: Header): Node["kind"] {
  switch (h.type) {
    case "file":
    case "contiguous-file":
      return "file";
    case "directory":
      return "directory";
    case "symlink":
      return "symlink";
    case "link":
      throw unsafe(`archive entry ${shown(h.name)} is a hard link; only files, directories and symlinks are unpacked`);
    default:
      throw unsafe(`archive entry ${shown(h.name)} is a ${h.type ?? "special file"}; only files, directories and symlinks are unpacked`);
  }
}

/** Permission bits only: set-id and sticky bits from a sandbox are not kept. */
function fileMode(mode: number | undefined): number {
  return (mode ?? 0o644) & 0o777;
}

class Extraction {
  readonly tree = new Map<string, Node>();
  readonly result: ExtractResult = { files: 0, directories: 0, symlinks: 0, bytesWritten: 0 };
  /** True once the output path itself exists because of this call. */
  madeOutput = false;

  constructor(
    readonly output: string,
    readonly kind: ExtractOptions["kind"],
  ) {}

  async entry(h: Header, body: AsyncIterable<Uint8Array>): Promise<void> {
    const kind = entryKind(h);
    const parts = entryPath(h.name);
    if (this.kind === "file") {
      if (kind !== "file" || this.result.files > 0) throw unsafe(`the export of a file holds more than one regular file (entry ${shown(h.name)})`);
      this.madeOutput = true;
      await this.writeFile(this.output, h, body);
      return;
    }
    if (parts.length === 0) {
      // The exported directory itself: only its mode.
      if (kind !== "directory") throw unsafe(`archive entry ${shown(h.name)} replaces the exported directory`);
      this.tree.set("", { kind: "directory", mode: fileMode(h.mode) });
      return;
    }
    await this.parents(parts, h.name);
    const key = parts.join("/");
    const existing = this.tree.get(key);
    const path = join(this.output, ...parts);
    if (existing) {
      // A directory listed twice (implicitly, then explicitly) is the same directory; anything else would overwrite.
      if (existing.kind === "directory" && kind === "directory") {
        existing.mode = fileMode(h.mode);
        return;
      }
      throw unsafe(`archive entry ${shown(h.name)} appears twice`);
    }
    if (kind === "directory") {
      await mkdir(path, 0o700);
      this.tree.set(key, { kind: "directory", mode: fileMode(h.mode) });
      this.result.directories++;
    } else if (kind === "symlink") {
      const target = h.linkname ?? "";
      if (target === "" || target.includes("\0")) throw unsafe(`symlink ${shown(h.name)} has an empty or invalid target`);
      // A first check now; the final one runs once every entry is known.
      if (!resolveLink(this.tree, parts.slice(0, -1), target)) throw unsafe(`symlink ${shown(h.name)} points outside the export (${shown(target)})`);
      await symlink(target, path);
      this.tree.set(key, { kind: "symlink", target });
      this.result.symlinks++;
    } else {
      this.tree.set(key, { kind: "file" });
      await this.writeFile(path, h, body);
    }
  }

  /** Makes the entry's missing parent directories; refuses a parent that is a file or a symlink. */
  private async parents(parts: string[], name: string): Promise<void> {
    for (let i = 1; i < parts.length; i++) {
      const key = parts.slice(0, i).join("/");
      const node = this.tree.get(key);
      if (node?.kind === "directory") continue;
      if (node) throw unsafe(`archive entry ${shown(name)} lies under a ${node.kind}, not a directory`);
      await mkdir(join(this.output, ...parts.slice(0, i)), 0o700);
      this.tree.set(key, { kind: "directory", mode: 0o755 });
      this.result.directories++;
    }
  }

  private async writeFile(path: string, h: Header, body: AsyncIterable<Uint8Array>): Promise<void> {
    // O_EXCL and O_NOFOLLOW: a new file of ours, never an existing one or a link's target.
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body) {
        await fh.write(chunk);
        this.result.bytesWritten += chunk.length;
      }
      await fh.chmod(fileMode(h.mode));
    } finally {
      await fh.close();
    }
    this.result.files++;
  }

  /** The checks that need every entry, then the directories' own modes (last: a read-only directory takes no entries). */
  async finish(): Promise<void> {
    if (this.kind === "file") {
      if (this.result.files !== 1) throw unsafe("the export of a file holds no regular file");
      return;
    }
    for (const [key, node] of this.tree) {
      if (node.kind !== "symlink") continue;
      const parts = key.split("/");
      if (!resolveLink(this.tree, parts.slice(0, -1), node.target)) throw unsafe(`symlink ${shown(key)} points outside the export (${shown(node.target)})`);
    }
    const dirs = [...this.tree].filter(([, n]) => n.kind === "directory").sort(([a], [b]) => b.length - a.length);
    for (const [key, node] of dirs) {
      // The owner keeps access, so the tree can always be read and removed.
      await chmod(key === "" ? this.output : join(this.output, ...key.split("/")), ((node as { mode: number }).mode | 0o700) & 0o777);
    }
  }
}

/** Refuses an output path that exists (pyro never overwrites on export). */
export async function checkOutputFree(output: string): Promise<void> {
  try {
    await lstat(output);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new PyroError("invalid_argument", `cannot use ${cut(output, 200)} as the output: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  throw new PyroError("invalid_argument", `${cut(output, 200)} already exists; pyro never overwrites on export`, { hint: "choose an output path that does not exist yet" });
}

/** A failure of the source of the archive (e.g. the call that streams it), which leaves unchanged. */
class SourceError {
  constructor(readonly inner: unknown) {}
}

/** A host filesystem failure as the caller should see it (unsafe_archive and other PyroErrors pass unchanged). */
function hostError(err: unknown, output: string): unknown {
  if (err instanceof SourceError) return err.inner;
  if (err instanceof PyroError) return err;
  // Only system calls failed on the host; any other error is the parser's.
  const code = (err as NodeJS.ErrnoException).syscall ? (err as NodeJS.ErrnoException).code : undefined;
  if (code === "EEXIST") return new PyroError("invalid_argument", `${cut(output, 200)} already exists; pyro never overwrites on export`, { hint: "choose an output path that does not exist yet", cause: err });
  if (typeof code === "string") return new PyroError("invalid_argument", `cannot write the export to ${cut(output, 200)}: ${code}`, { hint: "choose an output path you can write, on a filesystem with room", cause: err });
  // The archive itself is broken (a tar-stream parse error).
  if (err instanceof Error) return unsafe(`the archive is not a valid tar stream: ${cut(err.message, 200)}`);
  return err;
}

/**
 * Unpacks `source` (tar bytes) to `output` as `opts.kind` says. Missing parent directories
 * are made; on failure the first of them (or the output) is removed with everything in it.
 */
export async function extractTar(source: AsyncIterable<Uint8Array>, output: string, opts: ExtractOptions): Promise<ExtractResult> {
  const out = resolve(output);
  await checkOutputFree(out);
  let firstMade: string | undefined;
  const ex = new Extraction(out, opts.kind);
  const parser = tarExtract();
  const onAbort = () => parser.destroy(new PyroError("cancelled", "the export was cancelled"));
  let feeding: Promise<SourceError | undefined> = Promise.resolve(undefined);
  try {
    firstMade = (await mkdir(dirname(out), { recursive: true })) ?? undefined;
    if (opts.kind === "directory") {
      await mkdir(out, 0o700);
      ex.madeOutput = true;
    }
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    feeding = feed(source, parser);
    for await (const entry of parser) await ex.entry(entry.header, entry as unknown as AsyncIterable<Uint8Array>);
    const failed = await feeding;
    if (failed) throw failed;
    await ex.finish();
    return ex.result;
  } catch (caught) {
    parser.destroy();
    // The source's own failure says more than the parser's "destroyed".
    const err = (await feeding) ?? caught;
    const removable = firstMade ?? (ex.madeOutput ? out : undefined);
    if (removable) await rm(removable, { recursive: true, force: true }).catch(() => {});
    throw hostError(err, out);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** Resolves once `parser` takes more input, or will never again. */
function writable(parser: ReturnType<typeof tarExtract>): Promise<void> {
  const events = parser as unknown as NodeReadable;
  return new Promise((resolve) => {
    const done = () => {
      events.off("drain", done);
      events.off("close", done);
      resolve();
    };
    events.on("drain", done);
    events.on("close", done);
  });
}

/**
 * Writes `source` into the parser with backpressure, and stops reading it (which cancels a
 * call that streams it) once the parser is gone. Resolves with the source's failure, if any,
 * after failing the parser with it.
 */
async function feed(source: AsyncIterable<Uint8Array>, parser: ReturnType<typeof tarExtract>): Promise<SourceError | undefined> {
  try {
    for await (const chunk of source) {
      if (parser.destroyed) return undefined;
      if (!parser.write(chunk)) await writable(parser);
    }
    parser.end(null);
    return undefined;
  } catch (err) {
    const failed = new SourceError(err);
    parser.destroy(new Error("the archive's source failed"));
    return failed;
  }
}
