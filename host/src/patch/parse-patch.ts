/**
 * Step one of `workspace patch apply`: the patch text, parsed and checked before any file is
 * read. Whole-patch defects (not a diff, corrupt hunks, too large) throw a PyroError; a file
 * that can never be applied (binary, symlink, a path outside the workspace) is kept with its
 * refusal, so the preflight can report it beside the others.
 */
import { PyroError } from "../../../sdk/src/errors.js";
import { printable } from "./display.js";
import { MODE_GITLINK, MODE_SYMLINK, MODE_TYPE_MASK, type FileDiff } from "./file-diff.js";
import { checkPatchPath } from "./path-check.js";
import { PatchSyntaxError } from "./patch-text.js";
import { readPatch } from "./read-patch.js";
import type { FilePatch, ParsedPatch } from "./types.js";

/** Bounds on what one patch may ask for. */
export const PATCH_LIMITS = {
  /** Patch text, in bytes. */
  maxPatchBytes: 1024 * 1024,
  /** Files in one patch. */
  maxFiles: 2000,
  /** Hunks in one patch. */
  maxHunks: 20_000,
} as const;

/** Parses a unified diff as `git diff` or `diff -u` writes it. Throws PyroError (patch_invalid, too_large). */
export function parsePatch(input: string | Uint8Array): ParsedPatch {
  const buf = typeof input === "string" ? Buffer.from(input, "utf8") : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length > PATCH_LIMITS.maxPatchBytes) {
    throw new PyroError("too_large", `the patch is ${buf.length} bytes; at most ${PATCH_LIMITS.maxPatchBytes} are accepted`, { hint: "split it into several smaller patches" });
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) {
    throw new PyroError("patch_invalid", `the patch contains a NUL byte (at byte ${nul}); binary data cannot be patched this way`, { hint: "use `pyro workspace sync push` for binary files" });
  }
  let diffs: FileDiff[];
  try {
    diffs = readPatch(buf, PATCH_LIMITS);
  } catch (err) {
    if (!(err instanceof PatchSyntaxError)) throw err;
    if (err.tooLarge) throw new PyroError("too_large", err.message, { cause: err, hint: "split it into several smaller patches" });
    throw new PyroError("patch_invalid", `not a usable patch: ${err.message}`, { cause: err });
  }
  return { files: diffs.map(toFilePatch) };
}

function modeRefusal(diff: FileDiff): string | null {
  for (const mode of [diff.oldMode, diff.newMode]) {
    if (mode === null) continue;
    const type = mode & MODE_TYPE_MASK;
    if (type === MODE_SYMLINK) return `symbolic links cannot be patched (mode ${mode.toString(8)})`;
    if (type === MODE_GITLINK) return `submodules cannot be patched (mode ${mode.toString(8)})`;
  }
  return null;
}

function toFilePatch(diff: FileDiff, index: number): FilePatch {
  let refusal: FilePatch["refusal"] = null;
  const paths: Array<string | null> = [];
  for (const name of [diff.oldName, diff.newName]) {
    if (name === null) {
      paths.push(null);
      continue;
    }
    const verdict = checkPatchPath(name);
    if (verdict.ok) paths.push(verdict.path);
    else {
      paths.push(printable(name, 4096));
      refusal ??= { code: verdict.code, message: verdict.message };
    }
  }
  if (!refusal && diff.binary) refusal = { code: "patch_invalid", message: "binary patches are not applied; only text diffs can be" };
  const special = refusal ? null : modeRefusal(diff);
  if (special) refusal = { code: "patch_invalid", message: special };
  return {
    index,
    oldPath: paths[0] ?? null,
    newPath: paths[1] ?? null,
    hunks: diff.hunks.length,
    addedLines: diff.added,
    removedLines: diff.removed,
    refusal,
    diff,
  };
}

/**
 * Step two: the workspace paths whose current state the preflight needs (every old and new
 * path of every file that is not refused), each once, in patch order.
 */
export function pathsToRead(parsed: ParsedPatch): string[] {
  const paths = new Set<string>();
  for (const f of parsed.files) {
    if (f.refusal) continue;
    if (f.oldPath !== null) paths.add(f.oldPath);
    if (f.newPath !== null) paths.add(f.newPath);
  }
  return [...paths];
}
