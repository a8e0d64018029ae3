/**
 * The patch engine's domain types: what the workspace service hands in (the patch text and
 * the current state of the files it names) and what it gets back (one preflight result per
 * file, and a write plan when every file passes). They map one to one onto the proto messages
 * PatchFileResult and PatchApplied (proto/pyro/manager/v1/workspace.proto).
 */
import type { ErrorCode, PyroError } from "../../../sdk/src/errors.js";
import type { FileDiff } from "./file-diff.js";

/** What a file's part of the patch does. */
export type PatchOperation = "modify" | "add" | "delete" | "rename" | "copy" | "mode";

/** How a file fared in the preflight. */
export type PatchFileStatus = "ok" | "conflict" | "error";

/** One file's part of a parsed patch. */
export interface FilePatch {
  /** Its position in the patch, from 0. */
  readonly index: number;
  /** Path before the change, relative to the workspace ("/"-separated, normalised); null for an added file. */
  readonly oldPath: string | null;
  /** Path after the change; null for a deleted file. */
  readonly newPath: string | null;
  /** Hunks in this file's part. */
  readonly hunks: number;
  readonly addedLines: number;
  readonly removedLines: number;
  /** Why it can never be applied (binary, symlink, unacceptable path); it then needs no file read. */
  readonly refusal: { code: ErrorCode; message: string } | null;
  /** What the reader made of this part (internal to the engine). */
  readonly diff: FileDiff;
}

/** A parsed patch: its files, in patch order. */
export interface ParsedPatch {
  readonly files: readonly FilePatch[];
}

/**
 * The current state of one path in the workspace, as the service read it. `throughSymlink`
 * says a parent directory of the path is a symbolic link (git apply will not write or read
 * through one, even when it stays inside the tree). `underFile` says a missing path cannot be
 * created because a parent of it is not a directory (a file stands there: lstat says ENOTDIR).
 */
export type CurrentFile =
  | { kind: "missing"; throughSymlink?: boolean; underFile?: boolean }
  | {
      kind: "file";
      /** The file's bytes. */
      content: Uint8Array;
      /** Its permission bits (st_mode & 0o7777). */
      mode: number;
      throughSymlink?: boolean;
    }
  | { kind: "symlink" | "directory" | "other"; throughSymlink?: boolean };

/** The preflight result of one file (proto PatchFileResult). */
export interface PatchFileResult {
  /** Path relative to the workspace (the new path for a rename or copy). */
  path: string;
  /** The path before a rename or copy; "" otherwise. */
  oldPath: string;
  operation: PatchOperation;
  status: PatchFileStatus;
  hunks: number;
  addedLines: number;
  removedLines: number;
  /** What did not match or why it failed; for an ok file, any warning (e.g. a mode other than the patch expected). */
  message: string;
  /** For a conflict: the 1-based number of the hunk that did not apply; 0 otherwise. */
  conflictHunk: number;
  /** For a conflict: the lines the hunk expected (context and removed lines, without their newline). */
  expectedLines: string[];
  /** For a conflict: the file's lines where the hunk came closest to matching. */
  actualLines: string[];
  /** For a failed file: the stable error code (patch_conflict, patch_invalid, path_outside_workspace, too_large). */
  code?: ErrorCode;
}

/**
 * One step of the write plan. Deletions come first, then writes; each path appears once.
 * A deletion of a missing path is not an error. With `removeEmptyParents` it also removes the
 * parent directories it leaves empty (as git apply does for deleted and renamed files), never
 * the workspace root itself. A write replaces the path atomically, creates missing parent
 * directories, removes an empty directory standing at the path (one the deletions emptied),
 * and gives the file `mode` (permission bits). The caller confines every path to /workspace.
 */
export type PatchWrite =
  | { kind: "delete"; path: string; removeEmptyParents: boolean }
  | { kind: "write"; path: string; content: Uint8Array; mode: number };

/** The outcome of a preflight. */
export interface PatchPreflight {
  /** One result per file of the patch, in patch order. */
  files: PatchFileResult[];
  /** True when every file passed; only then is `writes` non-empty. */
  ok: boolean;
  /** What to do, in order, when ok. */
  writes: PatchWrite[];
  /** True when the writes change anything (proto PatchApplied.changed). */
  changed: boolean;
  /** Files whose content, mode or existence the patch changes (proto PatchApplied.files_changed). */
  filesChanged: number;
  /** When not ok: the error to report, carrying the first failed file's code. */
  error?: PyroError;
}
