/**
 * One manager per socket. A lock file beside the socket, created exclusively, holds the
 * owner's pid; a lock whose pid is gone is stale and taken over. A second manager finds the
 * first and refuses, so clients that race to auto-start end up with one.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

export class AlreadyRunning extends Error {
  constructor(readonly pid: number) {
    super(`a pyro manager is already running (pid ${pid})`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock or throws AlreadyRunning; returns its release function. */
export function acquireLock(path: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (Number(readFileSync(path, "utf8")) === process.pid) rmSync(path, { force: true });
        } catch {
          // Already gone.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new AlreadyRunning(pid);
      rmSync(path, { force: true }); // stale: its manager died
    }
  }
  throw new Error(`cannot take the manager lock ${path}`);
}
