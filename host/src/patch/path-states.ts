/**
 * The paths a patch touches, as its file parts see them one after another. A part that
 * patches a path an earlier part produced builds on that result; a part may not patch a
 * path an earlier part deleted or renamed away. Renames and copies read their source as it
 * is in the workspace. A created path (new file, rename or copy target) must not exist,
 * unless an earlier part produced it or some part of the patch deletes or renames it away.
 * These are git apply's rules. Beyond them, paths the patch could not write (git apply fails
 * on them halfway through writing) are refused up front: a file under a path that is or
 * becomes a file, or a file where a directory stays.
 */
import type { ErrorCode } from "../../../sdk/src/errors.js";
import type { CurrentFile } from "./types.js";

/** A file's bytes and permission bits. */
export interface FileState {
  content: Buffer;
  mode: number;
}

/** Why a path cannot be used. */
export interface PathProblem {
  code: ErrorCode;
  message: string;
}

function parentsOf(path: string): string[] {
  const out: string[] = [];
  for (let at = path.indexOf("/"); at >= 0; at = path.indexOf("/", at + 1)) out.push(path.slice(0, at));
  return out;
}

export class PathStates {
  /** What earlier parts left at a path: their result, or "gone" (deleted or renamed away). */
  private readonly produced = new Map<string, FileState | "gone">();
  /** For each directory, how many produced files lie under it. */
  private readonly producedUnder = new Map<string, number>();

  /**
   * @param current the workspace's paths, as read before the preflight
   * @param goingAway paths some part of the patch deletes or renames away
   * @param removed every path some part of the patch removes (goingAway, and the old names of parts whose names differ)
   */
  constructor(
    private readonly current: ReadonlyMap<string, CurrentFile>,
    private readonly goingAway: ReadonlySet<string>,
    private readonly removed: ReadonlySet<string>,
    private readonly maxFileBytes: number,
  ) {}

  private read(path: string): CurrentFile {
    const state = this.current.get(path);
    if (!state) throw new Error(`the patch engine needs the state of '${path}', which was not read (see pathsToRead)`);
    return state;
  }

  /** Whether a directory at `path` will be empty once the patch's removals are done (as far as the patch tells). */
  private emptiedDirectory(path: string): boolean {
    const prefix = `${path}/`;
    for (const gone of this.removed) if (gone.startsWith(prefix)) return true;
    return false;
  }

  /** Why a file cannot be written at `path` because of files the patch produces: one at a parent, or some under it. */
  private producedConflict(path: string): PathProblem | null {
    for (const parent of parentsOf(path)) {
      const state = this.produced.get(parent);
      if (state && state !== "gone") return { code: "patch_conflict", message: `the patch also writes a file at '${parent}', where a directory is needed` };
    }
    if (this.producedUnder.get(path)) return { code: "patch_conflict", message: "the patch also writes files under this path, which must stay a directory" };
    return null;
  }

  /**
   * The file a part patches: "missing" when it does not exist, else its state, or the
   * problem. `inWorkspace` reads the workspace even when an earlier part produced the path
   * (renames and copies do).
   */
  source(path: string, inWorkspace: boolean): FileState | "missing" | PathProblem {
    if (!inWorkspace) {
      const earlier = this.produced.get(path);
      if (earlier === "gone") return { code: "patch_conflict", message: "the path was renamed or deleted by an earlier part of the patch" };
      if (earlier) return earlier;
    }
    const state = this.read(path);
    if (state.throughSymlink) return { code: "path_outside_workspace", message: "a parent directory is a symbolic link; patches do not follow symbolic links" };
    switch (state.kind) {
      case "missing":
        return "missing";
      case "file":
        if (state.content.length > this.maxFileBytes) {
          return { code: "too_large", message: `the file is ${state.content.length} bytes; files over ${this.maxFileBytes} bytes are not patched` };
        }
        return { content: Buffer.from(state.content.buffer, state.content.byteOffset, state.content.byteLength), mode: state.mode };
      case "symlink":
        return { code: "patch_conflict", message: "it is a symbolic link, not a regular file" };
      case "directory":
        return { code: "patch_conflict", message: "it is a directory, not a regular file" };
      default:
        return { code: "patch_conflict", message: "it is not a regular file" };
    }
  }

  /**
   * Whether a part may write `path`. When `creating` (a new file, or a rename or copy
   * target), an existing file there is a conflict unless the patch removes it.
   */
  target(path: string, creating: boolean): PathProblem | null {
    const inTheWay = this.producedConflict(path);
    if (inTheWay) return inTheWay;
    if (this.produced.has(path)) return null;
    const state = this.read(path);
    if (state.throughSymlink) return { code: "path_outside_workspace", message: "a parent directory is a symbolic link; patches do not follow symbolic links" };
    if (state.kind === "missing") {
      if (state.underFile && !parentsOf(path).some((p) => this.removed.has(p))) return { code: "patch_conflict", message: "a file stands where a parent directory of it is needed" };
      return null;
    }
    if (state.kind === "directory") {
      return this.emptiedDirectory(path) ? null : { code: "patch_conflict", message: "a directory of that name is in the way" };
    }
    if (this.goingAway.has(path)) return null;
    if (state.kind !== "file") return { code: "patch_conflict", message: "something that is not a regular file is in the way" };
    return creating ? { code: "patch_conflict", message: "it already exists" } : null;
  }

  /** Records a part's result at `path`. */
  produce(path: string, state: FileState): void {
    const before = this.produced.get(path);
    this.produced.set(path, state);
    if (!before || before === "gone") this.countUnder(path, 1);
  }

  /** Records that a part deleted or renamed `path` away. */
  remove(path: string): void {
    const before = this.produced.get(path);
    this.produced.set(path, "gone");
    if (before && before !== "gone") this.countUnder(path, -1);
  }

  private countUnder(path: string, delta: number): void {
    for (const parent of parentsOf(path)) this.producedUnder.set(parent, (this.producedUnder.get(parent) ?? 0) + delta);
  }
}
