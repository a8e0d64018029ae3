/**
 * Which paths a patch may touch. A name from a patch is untrusted: it must be relative, stay
 * inside the workspace, and be a path git apply itself would accept (no empty, "." or ".."
 * components, nothing inside a `.git` directory, including the names NTFS would read as
 * `.git`). Returned paths are "/"-separated and normalised.
 */
import type { ErrorCode } from "../../../sdk/src/errors.js";
import { printable } from "./display.js";

/** Longest path accepted, in bytes (Linux's PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
/** Longest path component, in bytes (NAME_MAX). */
export const MAX_NAME_BYTES = 255;

export type PathVerdict = { ok: true; path: string } | { ok: false; code: ErrorCode; message: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** NTFS reads ".git", ".git.", ".git " and "git~1" (any case, trailing dots and spaces) as .git. */
function isNtfsDotGit(name: string): boolean {
  return /^(\.git|git~1)[. ]*(?:[:\\/]|$)/i.test(name);
}

/** Checks a name from a patch and returns it as a workspace-relative path. */
export function checkPatchPath(name: Buffer): PathVerdict {
  const shown = printable(name);
  const invalid = (why: string): PathVerdict => ({ ok: false, code: "patch_invalid", message: `invalid path '${shown}': ${why}` });
  if (name.length === 0) return invalid("it is empty");
  if (name.includes(0)) return invalid("it contains a NUL byte");
  let path: string;
  try {
    path = utf8.decode(name);
  } catch {
    return invalid("it is not valid UTF-8");
  }
  if (name[0] === 0x2f) return { ok: false, code: "path_outside_workspace", message: `path '${shown}' is absolute; patches may only name paths relative to /workspace` };
  const parts = path.split("/");
  if (parts.includes("..")) return { ok: false, code: "path_outside_workspace", message: `path '${shown}' has a '..' component; patches may only name paths inside /workspace` };
  if (name.length > MAX_PATH_BYTES) return invalid(`it is longer than ${MAX_PATH_BYTES} bytes`);
  for (const part of parts) {
    if (part === "" || part === ".") return invalid("it has an empty or '.' component");
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) return invalid(`a component is longer than ${MAX_NAME_BYTES} bytes`);
    // Like git: the start of every component, and what follows every backslash, may not be .git.
    const starts = [part, ...part.split("\\").slice(1)];
    if (starts.some(isNtfsDotGit)) return invalid("git does not patch files inside .git");
  }
  return { ok: true, path };
}
