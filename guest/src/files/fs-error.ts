/**
 * What a failed file system call becomes for the host: a stable code for the errors a caller
 * can act on (a missing file, a full disk, a name too long), and the error itself otherwise,
 * which leaves the agent as `internal` without its text.
 */
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";

const INVALID: Record<string, string> = {
  ENOTDIR: "a parent is not a directory",
  EISDIR: "it is a directory",
  ENOTEMPTY: "the directory is not empty",
  EEXIST: "something else is already there",
  ENAMETOOLONG: "a name is too long",
  ELOOP: "it goes through too many symlinks",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  EXDEV: "it crosses file systems",
  EBUSY: "it is in use",
  EINVAL: "the operation does not apply to it",
};

/** Maps `err` of a call on `path` (the caller's words, echoed) to a PyroError where it has a stable code. */
export function fsError(err: unknown, path: string): unknown {
  if (err instanceof PyroError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  if (code === "ENOENT") return new PyroError("file_not_found", `${echoInput(path)} does not exist in the workspace`, { cause: err });
  if (code === "ENOSPC" || code === "EDQUOT") return new PyroError("disk_full", `the workspace's disk is full (writing ${echoInput(path)})`, { cause: err });
  const why = INVALID[code];
  if (why) return new PyroError("invalid_argument", `${echoInput(path)}: ${why}`, { cause: err });
  return err;
}
