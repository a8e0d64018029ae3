/**
 * Cross-process locks that the kernel releases when their holder dies: one manager per
 * socket, and one build (or removal) at a time per cached environment, across every manager
 * that shares the cache.
 *
 * Why a flock(1) helper process: Node 20 has no flock(2) or fcntl locks. A lock file holding
 * a pid is not a lock (a reused pid keeps it "held" forever); an abstract Unix socket is
 * released on death but is per network namespace (two managers in different namespaces would
 * both "hold" it) and another user can squat a name it can guess; a native addon has to be
 * built and shipped for every platform. util-linux's `flock` is on every Debian system
 * (util-linux is Essential), locks the file itself (so the file's own permissions decide who
 * may contend) and blocks in the kernel rather than polling. The helper takes the lock, says
 * so on stdout, and holds it until its stdin reaches end of file: when we release the lock,
 * and also when this process dies, however it dies, because the kernel then closes our end
 * of the pipe. It runs in its own session so a Ctrl-C in a terminal reaches us, not it.
 */
import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { constants } from "node:fs";
import { isAbsolute } from "node:path";
import { PyroError } from "../../sdk/src/errors.js";

/** A held lock. */
export interface FileLock {
  readonly path: string;
  /** Releases the lock; resolves once the kernel has released it. Safe to call twice. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Wait until the lock is free (default); with false, resolve undefined at once when it is held. */
  wait?: boolean;
  /** Aborting stops the wait; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** flock's exit status when a --nonblock lock is held elsewhere (EX_TEMPFAIL). */
const BUSY_EXIT = 75;
const READY = "locked\n";
/** What the helper runs once it holds the lock: say so, then wait for end of file on stdin. */
const HOLD = ["/bin/sh", "-c", `printf '${READY.trim()}\\n' && exec cat >/dev/null`];

/**
 * Takes the exclusive lock on `path` (an absolute path; the file is created, owner-only, if
 * missing and never truncated). Resolves the held lock, or undefined when `wait` is false and
 * another process (or another call of this one) holds it.
 */
export async function lockFile(path: string, opts: LockOptions = {}): Promise<FileLock | undefined> {
  if (!isAbsolute(path)) throw new Error(`lock path ${path} is not absolute`);
  opts.signal?.throwIfAborted();
  // Created here, so its mode is ours to choose; O_NOFOLLOW: a link planted at the path is refused.
  const fh = await open(path, constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  await fh.close();
  const wait = opts.wait ?? true;
  // --close: the command does not inherit the locked descriptor, so the lock lives exactly as long as flock itself.
  const args = ["--exclusive", "--close", ...(wait ? [] : ["--nonblock", "--conflict-exit-code", String(BUSY_EXIT)]), path, ...HOLD];
  const child = spawn("flock", args, { stdio: ["pipe", "pipe", "pipe"], detached: true, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" } });
  // The helper may die first (killed by someone); a write error on its pipe is no crash of ours.
  child.stdin.on("error", () => {});
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-1000)));
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));

  return new Promise<FileLock | undefined>((resolve, reject) => {
    let out = "";
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () =>
      settle(() => {
        child.stdin.destroy();
        killGroup(child.pid);
        reject(opts.signal?.reason ?? new PyroError("cancelled", `waiting for the lock ${path} was cancelled`));
      });
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!out.startsWith(READY)) return;
      settle(() => {
        // Holding the lock must not keep the process alive (the helper dies with us anyway);
        // waiting for its release must.
        const streams = [child.stdin, child.stdout, child.stderr] as unknown as Array<{ ref?: () => void; unref?: () => void }>;
        child.unref();
        for (const s of streams) s.unref?.();
        let releasing: Promise<void> | undefined;
        resolve({
          path,
          release: () =>
            (releasing ??= (() => {
              child.ref();
              for (const s of streams) s.ref?.();
              child.stdin.end();
              return exited;
            })()),
        });
      });
    });
    child.once("error", (err: NodeJS.ErrnoException) =>
      settle(() =>
        reject(
          err.code === "ENOENT"
            ? new PyroError("internal", "flock (from util-linux) is not installed; pyro needs it to lock its cache", { hint: "apt-get install -y util-linux", cause: err })
            : err,
        ),
      ),
    );
    child.once("exit", (code) =>
      settle(() => {
        if (code === BUSY_EXIT && !wait) resolve(undefined);
        else reject(new Error(`flock on ${path} exited with ${code}: ${stderr.trim() || "no output"}`));
      }),
    );
  });
}

/** Ends the helper and what it started (its own process group: it was spawned detached). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
