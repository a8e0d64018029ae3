/**
 * What the reader makes of one file's part of a patch, before any file is looked at.
 */
import type { Hunk } from "./hunk.js";

/** File type bits of a git mode, and the types the patch engine knows. */
export const MODE_TYPE_MASK = 0o170000;
export const MODE_REGULAR = 0o100000;
export const MODE_SYMLINK = 0o120000;
export const MODE_GITLINK = 0o160000;

export interface FileDiff {
  /** The path before the change (leading directory dropped); null when the file is created. */
  oldName: Buffer | null;
  /** The path after the change; null when the file is deleted. */
  newName: Buffer | null;
  /**
   * Whether it creates the file: true (git's "new file mode", or /dev/null or the epoch as
   * old name), false, or null for a plain diff that may create it: a single hunk with no old
   * lines, which creates the file when it does not exist and patches it when it does.
   */
  creates: boolean | null;
  /** It deletes the file (git's "deleted file mode", or /dev/null or the epoch as new name). */
  deletes: boolean;
  /** git's "rename from/to": the old path goes away. */
  rename: boolean;
  /** git's "copy from/to": the old path stays. */
  copy: boolean;
  /** Mode the file had (old mode, deleted file mode, or the index line's mode); null when not said. */
  oldMode: number | null;
  /** Mode it gets (new mode, new file mode); null when unchanged. */
  newMode: number | null;
  /** The similarity (or dissimilarity) index, in percent; null when not given. */
  similarity: number | null;
  /** A binary patch (or git's "Binary files … differ"): not applied. */
  binary: boolean;
  hunks: Hunk[];
  added: number;
  removed: number;
  /** 1-based line of the patch where this file's part begins. */
  line: number;
}
