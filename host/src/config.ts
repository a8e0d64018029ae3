/**
 * Manager configuration, resolved once: flag > PYRO_* environment variable > default.
 * Ordinary users get XDG directories; root gets system directories (like a system
 * service's StateDirectory/CacheDirectory) because sandboxes run as an unprivileged uid
 * that must reach the sandbox and cache trees, and root's home is closed to it.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export interface ManagerConfig {
  stateDir: string;
  cacheDir: string;
  socketPath: string;
  logPath: string;
  /** Default backend name when a request names none; "" = automatic. */
  backend: string;
  /** Debian mirror environments are built from. */
  debianMirror: string;
  /** Host uid/gid that sandbox processes run as when the manager is root. */
  sandboxUid: number;
  sandboxGid: number;
  /** Ready sandboxes kept per environment (0 disables the pool). */
  poolSize: number;
  debug: boolean;
}

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

function intFrom(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

export function resolveConfig(env: Env, flags: Partial<ManagerConfig> = {}): ManagerConfig {
  const stateDir = flags.stateDir ?? defaultStateDir(env);
  return {
    stateDir,
    cacheDir: flags.cacheDir ?? defaultCacheDir(env),
    socketPath: flags.socketPath ?? defaultSocketPath(env, stateDir),
    logPath: flags.logPath ?? env.PYRO_MANAGER_LOG ?? join(stateDir, "manager.log"),
    backend: flags.backend ?? env.PYRO_BACKEND ?? "",
    debianMirror: flags.debianMirror ?? (env.PYRO_DEBIAN_MIRROR || "http://deb.debian.org/debian"),
    sandboxUid: flags.sandboxUid ?? intFrom(env.PYRO_SANDBOX_UID, 65534, "PYRO_SANDBOX_UID"),
    sandboxGid: flags.sandboxGid ?? intFrom(env.PYRO_SANDBOX_GID, 65534, "PYRO_SANDBOX_GID"),
    poolSize: flags.poolSize ?? intFrom(env.PYRO_POOL_SIZE, 1, "PYRO_POOL_SIZE"),
    debug: flags.debug ?? env.PYRO_DEBUG === "1",
  };
}
