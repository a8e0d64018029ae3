/**
 * Where pyro keeps its state and where clients find the manager: the one rule for the
 * manager (which serves there) and every client (which connects, or starts a manager, there).
 * Ordinary users get XDG directories; root gets system directories (like a system service's
 * StateDirectory/CacheDirectory) because sandboxes run as an unprivileged uid that must reach
 * the sandbox and cache trees, and root's home is closed to it.
 */
import { lstatSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PyroError } from "../errors.js";

/** Environment variables as `process.env` holds them. */
export type Env = Record<string, string | undefined>;

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Default state directory: where the manager socket, logs and sandboxes live. */
export function defaultStateDir(env: Env, root = isRoot()): string {
  if (env.PYRO_STATE_DIR) return env.PYRO_STATE_DIR;
  if (root) return "/var/lib/pyro";
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state"), "pyro");
}

/** Default cache directory: where environments and the agent runtime are kept. */
export function defaultCacheDir(env: Env, root = isRoot()): string {
  if (env.PYRO_CACHE_DIR) return env.PYRO_CACHE_DIR;
  if (root) return "/var/cache/pyro";
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "pyro");
}

/** The manager socket path clients connect to (and the manager serves on). */
export function defaultSocketPath(env: Env, stateDir = defaultStateDir(env)): string {
  return env.PYRO_MANAGER_SOCKET || join(stateDir, "manager.sock");
}

/** A Unix socket address holds 108 bytes of path, the last of them the terminating NUL. */
export const SOCKET_PATH_MAX_BYTES = 107;

/** `path` for a message: a configured value can be any length, a message cannot. */
function shown(path: string): string {
  return path.length > 200 ? `${path.slice(0, 120)}…${path.slice(-40)} (${Buffer.byteLength(path)} bytes)` : path;
}

/**
 * Why the manager cannot serve on `socketPath`, or undefined when it can. The one rule for
 * clients (which check before starting a manager, so the user sees why instead of waiting
 * for a manager that never comes up) and for the manager itself: the path fits a socket
 * address; what exists there already is a socket (pyro replaces only a stale socket, never a
 * file); and its directory exists, unless it is `stateDir`, the one pyro makes itself.
 */
export function socketPathProblem(socketPath: string, stateDir: string): PyroError | undefined {
  const fix = "set PYRO_MANAGER_SOCKET (or --socket) to another path, or unset it to use the default";
  const bytes = Buffer.byteLength(socketPath);
  if (socketPath === "" || socketPath.includes("\0")) return new PyroError("invalid_configuration", "the manager socket path is empty or holds a NUL byte", { hint: fix });
  if (bytes > SOCKET_PATH_MAX_BYTES) {
    return new PyroError("invalid_configuration", `the manager socket path ${shown(socketPath)} is ${bytes} bytes; a Unix socket path holds at most ${SOCKET_PATH_MAX_BYTES}`, {
      hint: `choose a shorter path; ${fix}`,
    });
  }
  let existing;
  try {
    existing = lstatSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      return new PyroError("invalid_configuration", `cannot use the manager socket path ${shown(socketPath)}: ${(err as Error).message}`, { hint: fix });
    }
  }
  if (existing && !existing.isSocket()) {
    return new PyroError("invalid_configuration", `${shown(socketPath)} exists and is not a socket; pyro never replaces a file with its socket`, { hint: fix });
  }
  const dir = dirname(resolve(socketPath));
  if (dir === resolve(stateDir)) return undefined;
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    dirStat = undefined;
  }
  if (!dirStat?.isDirectory()) {
    return new PyroError("invalid_configuration", `the directory of the manager socket ${shown(socketPath)} does not exist; pyro creates only its own state directory`, {
      hint: `create ${shown(dir)} first, or ${fix}`,
    });
  }
  return undefined;
}

/** Where the manager writes its log: `PYRO_MANAGER_LOG`, else `<state dir>/manager.log`. */
export function defaultLogPath(env: Env, stateDir = defaultStateDir(env)): string {
  return env.PYRO_MANAGER_LOG || join(stateDir, "manager.log");
}
