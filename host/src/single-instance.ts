/**
 * One manager per socket: an exclusive lock (file-lock.ts) on `<socket>.lock`, which the
 * kernel releases when the manager dies, however it dies — a lock file that merely holds a
 * pid wedges every later start once that pid is reused. The file's content (the owner's pid)
 * is for messages only and is never trusted. A second manager finds the first and refuses,
 * so clients that race to auto-start end up with one.
 */
import { lstat, open } from "node:fs/promises";
import { PyroError } from "../../sdk/src/errors.js";
import { lockFile } from "./file-lock.js";

export class AlreadyRunning extends Error {
  constructor(readonly pid: number | undefined) {
    super(`a pyro manager is already running${pid ? ` (pid ${pid})` : ""}`);
  }
}

/**
 * How long a held lock is waited for before giving up: a manager that was just killed holds
 * it until its lock helper has seen the end of its pipe, a matter of milliseconds.
 */
const DYING_HOLDER_WAIT_MS = 2_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid a lock file names, if it names one; throws when the file is not a pyro lock file at all. */
async function readOwner(path: string): Promise<number | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return undefined;
  const refuse = (why: string) =>
    new PyroError("invalid_configuration", `${path} ${why}; pyro keeps its manager lock there, beside the socket`, {
      hint: "choose another manager socket path (PYRO_MANAGER_SOCKET or --socket)",
    });
  if (!st.isFile()) throw refuse("exists and is not a regular file");
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, 64, 0);
    const text = buf.subarray(0, bytesRead).toString("utf8");
    if (!/^\s*(\d{1,10})?\s*$/.test(text) || st.size > 64) throw refuse("exists and is not a pyro lock file");
    const pid = Number(text.trim());
    return pid > 0 ? pid : undefined;
  } finally {
    await fh.close();
  }
}

/** Takes the manager lock at `path` or throws AlreadyRunning; resolves its release function. */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  await readOwner(path);
  let lock = await lockFile(path, { wait: false });
  if (!lock) {
    try {
      lock = await lockFile(path, { signal: AbortSignal.timeout(DYING_HOLDER_WAIT_MS) });
    } catch {
      const pid = await readOwner(path).catch(() => undefined);
      throw new AlreadyRunning(pid !== undefined && alive(pid) ? pid : undefined);
    }
  }
  const held = lock!;
  try {
    const fh = await open(path, "r+");
    try {
      await fh.truncate(0);
      await fh.write(`${process.pid}\n`, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    await held.release();
    throw err;
  }
  return async () => {
    // Emptied, not removed: removing a lock file lets two processes lock two different files.
    await open(path, "r+")
      .then(async (fh) => {
        await fh.truncate(0);
        await fh.close();
      })
      .catch(() => {});
    await held.release();
  };
}
