/**
 * Checks on what a guest's FileService sends back. The agent shares its sandbox with the
 * workspace's commands, so a reply is a claim: paths must be well-formed and relative, sizes
 * and modes must be numbers a file can have, kinds must be known. A reply that fails is an
 * `AgentProtocolError` (the call then fails with `sandbox_failed`), never data for a client.
 */
import { FileType, type FileEntry } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { AgentProtocolError } from "../agent-link/exec-event-guard.js";
import { untrustedText } from "../agent-link/untrusted-text.js";

/** Longest path or link target a reply may hold, in UTF-8 bytes (Linux's PATH_MAX). */
export const REPLY_PATH_MAX_BYTES = 4096;

/** What a path of the workspace is. */
export type FileKind = "file" | "directory" | "symlink" | "other";

/** One path of the workspace, as the manager hands it on. Strings are raw file names: clean them (untrustedText) before showing them on a terminal. */
export interface FileInfo {
  /** Relative to /workspace, "/"-separated, without "." or ".." parts; "" is /workspace itself. */
  path: string;
  type: FileKind;
  /** Size in bytes of a regular file; 0 otherwise. */
  sizeBytes: number;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Where a symlink points, as written in it; "" otherwise. */
  linkTarget: string;
}

const KINDS: Partial<Record<FileType, FileKind>> = {
  [FileType.FILE]: "file",
  [FileType.DIRECTORY]: "directory",
  [FileType.SYMLINK]: "symlink",
  [FileType.OTHER]: "other",
};

/** An AgentProtocolError: `reason` in the manager's words, `value` (what the guest sent, cleaned and cut) for the log. */
export function protocolError(reason: string, value?: unknown): AgentProtocolError {
  return new AgentProtocolError(reason, value === undefined ? "" : untrustedText(String(value)));
}

/** A path the guest sent: relative, "/"-separated, without empty, "." or ".." parts, bounded, no NUL. */
export function checkRelPath(path: string, what: string): string {
  if (typeof path !== "string" || Buffer.byteLength(path) > REPLY_PATH_MAX_BYTES || path.includes("\0")) throw protocolError(`${what} is not a path it may send`, path);
  if (path === "") return path;
  if (path.split("/").some((c) => c === "" || c === "." || c === "..")) throw protocolError(`${what} is not a well-formed relative path`, path);
  return path;
}

/** A byte count the guest sent, as a number no larger than `max`. */
export function checkCount(value: bigint, max: number, what: string): number {
  if (value < 0n || value > BigInt(max)) throw protocolError(`${what} is out of range`, value);
  return Number(value);
}

/** A FileEntry the guest sent, checked and turned into a FileInfo. */
export function checkEntry(e: FileEntry | undefined, what: string): FileInfo {
  if (!e) throw protocolError(`${what} is missing`);
  const type = KINDS[e.type];
  if (!type) throw protocolError(`${what} has an unknown type`, e.type);
  const path = checkRelPath(e.path, `${what}'s path`);
  const sizeBytes = checkCount(e.sizeBytes, Number.MAX_SAFE_INTEGER, `${what}'s size`);
  if (type !== "file" && sizeBytes !== 0) throw protocolError(`${what} has a size but is not a file`, e.sizeBytes);
  if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) throw protocolError(`${what} has a mode no file has`, e.mode);
  const linkTarget = e.linkTarget;
  if (Buffer.byteLength(linkTarget) > REPLY_PATH_MAX_BYTES || linkTarget.includes("\0")) throw protocolError(`${what}'s link target is not one a symlink can hold`, linkTarget);
  if (type !== "symlink" && linkTarget !== "") throw protocolError(`${what} has a link target but is not a symlink`, linkTarget);
  return { path, type, sizeBytes, mode: e.mode, linkTarget };
}

/** Whether `path` lies below the directory `dir` ("" is /workspace), and how many levels. */
export function depthBelow(path: string, dir: string): number | undefined {
  if (dir === "") return path === "" ? undefined : path.split("/").length;
  if (!path.startsWith(`${dir}/`)) return undefined;
  return path.slice(dir.length + 1).split("/").length;
}
