/**
 * The paths a patch touches, as its file parts see them one after another. A part that
 * patches a path an earlier part produced builds on that result; a part may not patch a
 * path an earlier part deleted or renamed away. Renames and copies read their source as it
 * is in the workspace. A created path (new file, rename or copy target) must not exist,
 * unless an earlier part produced it or some part of the patch deletes or renames it away.
 * These are git apply's rules.
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

export class PathStates {
  /** What earlier parts left at a path: their result, or "gone" (deleted or renamed away). */
  private readonly produced = new Map<string, FileState | "gone">();

  /**
   * @param current the workspace's paths, as read before the preflight
   * @param goingAway paths some part of the patch deletes or renames away
   */
  constructor(
    private readonly current: ReadonlyMap<string, CurrentFile>,
    private readonly goingAway: ReadonlySet<string>,
    private readonly maxFileBytes: number,
  ) {}

  private read(path: string): CurrentFile {
    const state = this.current.get(path);
    if (!state) throw new Error(`the patch engine needs the state of '${path}', which was not read (see pathsToRead)`);
    return state;
  }

  /** Whether a directory at `path` will be empty once the patch's deletions are done (as far as the patch tells). */
  private emptiedDirectory(path: string): boolean {
    const prefix = `${path}/`;
    for (const gone of this.goingAway) if (gone.startsWith(prefix)) return true;
    return false;
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
    if (this.produced.has(path)) return null;
    const state = this.read(path);
    if (state.throughSymlink) return { code: "path_outside_workspace", message: "a parent directory is a symbolic link; patches do not follow symbolic links" };
    if (state.kind === "missing") return null;
    if (state.kind === "directory") {
      return this.emptiedDirectory(path) ? null : { code: "patch_conflict", message: "a directory of that name is in the way" };
    }
    if (this.goingAway.has(path)) return null;
    if (state.kind !== "file") return { code: "patch_conflict", message: "something that is not a regular file is in the way" };
    return creating ? { code: "patch_conflict", message: "it already exists" } : null;
  }

  /** Records a part's result at `path`. */
  produce(path: string, state: FileState): void {
    this.produced.set(path, state);
  }

  /** Records that a part deleted or renamed `path` away. */
  remove(path: string): void {
    this.produced.set(path, "gone");
  }
}
