/**
 * Manager configuration, resolved once: flag > PYRO_* environment variable > default.
 * The default paths are the contract's (sdk/src/contract/paths.ts): clients compute the same.
 */
import { defaultCacheDir, defaultLogPath, defaultSocketPath, defaultStateDir, type Env } from "../../sdk/src/contract/paths.js";

export { defaultCacheDir, defaultSocketPath, defaultStateDir, SOCKET_PATH_MAX_BYTES, socketPathProblem } from "../../sdk/src/contract/paths.js";
export type { Env } from "../../sdk/src/contract/paths.js";

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
    logPath: flags.logPath ?? defaultLogPath(env, stateDir),
    backend: flags.backend ?? env.PYRO_BACKEND ?? "",
    debianMirror: flags.debianMirror ?? (env.PYRO_DEBIAN_MIRROR || "http://deb.debian.org/debian"),
    sandboxUid: flags.sandboxUid ?? intFrom(env.PYRO_SANDBOX_UID, 65534, "PYRO_SANDBOX_UID"),
    sandboxGid: flags.sandboxGid ?? intFrom(env.PYRO_SANDBOX_GID, 65534, "PYRO_SANDBOX_GID"),
    poolSize: flags.poolSize ?? intFrom(env.PYRO_POOL_SIZE, 1, "PYRO_POOL_SIZE"),
    debug: flags.debug ?? env.PYRO_DEBUG === "1",
  };
}
