/**
 * A sandbox's own output (its launch, bubblewrap, the agent's stderr; its network helper)
 * goes to files in its directory, not to pipes into the manager: the sandbox must not
 * depend on the manager being alive to write. Files are opened append-only, so the manager
 * can cut one that grew too large at any time without confusing its writer; each launch
 * keeps the previous launch's log as `<name>.1`.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, renameSync, writeSync } from "node:fs";

/** The most a sandbox log may hold before the manager cuts it. */
export const LOG_CAP_BYTES = 1 << 20;

/** Opens `path` for a new launch to write to: the last launch's log moves to `<path>.1`. Returns the fd; close it once handed over. */
export function openLaunchLog(path: string): number {
  try {
    renameSync(path, `${path}.1`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
}

/** Cuts `path` to nothing when it holds more than `max` bytes (its writers append, so they go on at the new end). */
export function capLog(path: string, max = LOG_CAP_BYTES): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
  } catch {
    return;
  }
  try {
    if (fstatSync(fd).size <= max) return;
    ftruncateSync(fd, 0);
    writeSync(fd, `[pyro: log cut at ${max} bytes]\n`);
  } catch {
    // A log is a courtesy; never fail the sandbox over it.
  } finally {
    closeSync(fd);
  }
}

/** The last few lines of `path` on one line, for an error message; "" when there is none. */
export function logTail(path: string, bytes = 2000): string {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(bytes);
      const n = readSync(fd, buf, 0, buf.length, Math.max(0, fstatSync(fd).size - buf.length));
      return buf.subarray(0, n).toString().trim().split("\n").slice(-3).join(" | ");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}
