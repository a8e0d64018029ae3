/**
 * The one way a file RPC turns a caller's path into a path on disk. Relative paths start at
 * the workspace directory; absolute ones must name it (as `/workspace/…`, the name users see,
 * or its real path). The walk goes one component at a time with lstat, as the kernel would,
 * but stops with `path_outside_workspace` wherever a `..` or a symlink (a parent's or, when
 * followed, the last one's) would leave the workspace. Nothing is followed without being
 * looked at first.
 *
 * This keeps the file tools to /workspace; it is not the sandbox's security boundary (a
 * command in the same sandbox may swap a directory for a symlink between the walk and the
 * use, and could reach that file itself anyway). The RPCs narrow that window where it is
 * cheap: they open with O_NOFOLLOW and create with O_EXCL.
 */
import { lstat, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { isAbsolute, join } from "node:path";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { fsError } from "./fs-error.js";

/** The workspace's name inside every sandbox, which absolute paths may always use. */
export const WORKSPACE_NAME = "/workspace";
/** Longest path accepted, in UTF-8 bytes (Linux's PATH_MAX). */
export const PATH_MAX_BYTES = 4096;
/** Symlinks followed in one walk before it gives up (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/** A caller's path after the walk. */
export interface ResolvedPath {
  /** Where it is on disk: the workspace directory, then `rel`. */
  abs: string;
  /** Relative to the workspace directory, "/"-separated; "" is the workspace itself. */
  rel: string;
  /** lstat of the last component; undefined when nothing is there. */
  stat: Stats | undefined;
  /** How many trailing components of `rel` do not exist (the last one counts); 0 when it all exists. */
  missing: number;
}

export interface ResolveOptions {
  /** Follow a symlink at the end (read, write, list, export) or describe it (stat, remove). */
  followFinal: boolean;
}

/** Components of `p`, without empty and "." ones. */
function parts(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

function outside(input: string, why: string): PyroError {
  return new PyroError("path_outside_workspace", `${echoInput(input)} is outside ${WORKSPACE_NAME}: ${why}`);
}

/** Confines paths to one workspace directory. */
export class WorkspaceResolver {
  readonly #rootParts: string[];
  readonly #aliasParts = parts(WORKSPACE_NAME);

  /** `root` is the workspace directory, absolute and free of symlinks (the agent's --workspace, made real). */
  constructor(readonly root: string) {
    if (!isAbsolute(root)) throw new Error(`workspace directory ${root} is not absolute`);
    this.#rootParts = parts(root);
  }

  /** Checks a caller's path before any walk: a string of bounded length without NUL. */
  static validate(input: string): void {
    if (input.includes("\0")) throw new PyroError("invalid_argument", "a path must not contain NUL bytes");
    if (Buffer.byteLength(input) > PATH_MAX_BYTES) throw new PyroError("invalid_argument", `a path must be at most ${PATH_MAX_BYTES} bytes`);
  }

  /** The components of an absolute path below the workspace, or undefined when it is elsewhere. */
  #below(absolute: string): string[] | undefined {
    const p = parts(absolute);
    for (const prefix of [this.#rootParts, this.#aliasParts]) {
      if (p.length >= prefix.length && prefix.every((c, i) => p[i] === c)) return p.slice(prefix.length);
    }
    return undefined;
  }

  /** Walks `input` from the workspace directory; throws `path_outside_workspace` where it would leave it. */
  async resolve(input: string, opts: ResolveOptions): Promise<ResolvedPath> {
    WorkspaceResolver.validate(input);
    let start: string[] | undefined = parts(input);
    if (isAbsolute(input)) {
      start = this.#below(input);
      if (!start) throw outside(input, `absolute paths must start with ${WORKSPACE_NAME}/`);
    }
    // `pending` is what is left to walk, next component last; `done` holds real directories only,
    // except for its last element once the walk ends (and the missing tail, which is not walked).
    const pending = start.reverse();
    const done: string[] = [];
    let hops = 0;
    let missing = 0;
    let stat: Stats | undefined;
    // Symlinks whose targets are being walked: `mark` is the length `pending` had below them.
    const links: { mark: number; name: string }[] = [];
    while (pending.length > 0) {
      const c = pending.pop()!;
      while (links.length > 0 && links.at(-1)!.mark > pending.length) links.pop();
      if (c === "..") {
        if (done.length === 0) throw outside(input, links.length > 0 ? `the symlink ${echoInput(links.at(-1)!.name)} leads out of it` : "`..` leads out of it");
        done.pop();
        if (missing > 0) missing--;
        stat = undefined;
        continue;
      }
      if (missing > 0) {
        // Below a missing directory nothing exists; a later create makes real directories,
        // so a `..` here means what it says.
        done.push(c);
        missing++;
        continue;
      }
      const here = join(this.root, ...done, c);
      const st = await lstat(here).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw fsError(err, input);
      });
      const last = pending.length === 0;
      if (st?.isSymbolicLink() && (!last || opts.followFinal)) {
        if (++hops > MAX_LINK_HOPS) throw new PyroError("invalid_argument", `${echoInput(input)} goes through more than ${MAX_LINK_HOPS} symlinks`);
        const target = await readlink(here).catch((err: NodeJS.ErrnoException) => {
          throw fsError(err, input);
        });
        links.push({ mark: pending.length, name: [...done, c].join("/") });
        if (isAbsolute(target)) {
          // An absolute target means the sandbox's own root, so only the real workspace path counts.
          const rest = parts(target);
          if (!(rest.length >= this.#rootParts.length && this.#rootParts.every((p, i) => rest[i] === p))) {
            throw outside(input, `the symlink ${echoInput([...done, c].join("/"))} points to ${echoInput(target)}`);
          }
          done.length = 0;
          pending.push(...rest.slice(this.#rootParts.length).reverse());
        } else {
          pending.push(...parts(target).reverse());
        }
        stat = undefined;
        continue;
      }
      if (st && !st.isDirectory() && !last) {
        throw new PyroError("invalid_argument", `${echoInput(input)}: ${echoInput([...done, c].join("/"))} is not a directory`);
      }
      done.push(c);
      stat = st;
      if (!st) missing = 1;
    }
    const rel = done.join("/");
    const abs = rel === "" ? this.root : join(this.root, rel);
    // A `..` at the end leaves `stat` unset: look at where it led.
    if (missing === 0 && !stat) {
      stat = await lstat(abs).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw fsError(err, input);
      });
      if (!stat) missing = 1;
    }
    return { abs, rel, stat, missing };
  }
}
