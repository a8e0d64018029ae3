/**
 * Fixtures for end-to-end tests: a real manager process (the built CLI's `manager serve`)
 * with its own state directory, sharing one environment cache across test files so
 * debian:12 is built once per run; and helpers to run the real CLI against it.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { workspaceClient } from "./workspace-client.js";

export const ROOT = resolve(import.meta.dirname, "..");
export const PYRO = join(ROOT, "dist", "pyro.mjs");
/** One environment cache for every e2e manager of a run (built once by the global setup). */
export const E2E_CACHE = process.env.PYRO_E2E_CACHE || join(tmpdir(), "pyro-e2e-cache");

export interface TestManager {
  dir: string;
  stateDir: string;
  socketPath: string;
  env: NodeJS.ProcessEnv;
  pid: number;
  stop(): Promise<void>;
}

/** A private directory the unprivileged sandbox uid can traverse (managers running as root chmod their state dir). */
export function testDir(prefix = "pyro-e2e-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}

/** Environment for a CLI or manager bound to `socketPath`, with its own state dir and the shared cache. */
export function pyroEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  mkdirSync(E2E_CACHE, { recursive: true });
  chmodSync(E2E_CACHE, 0o755);
  return {
    ...process.env,
    PYRO_STATE_DIR: join(dir, "state"),
    PYRO_CACHE_DIR: E2E_CACHE,
    PYRO_MANAGER_SOCKET: join(dir, "state", "manager.sock"),
    ...extra,
  };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * Starts `pyro manager serve` in the foreground of a child process and waits for its socket.
 * `inheritFds` are open fds the manager inherits (as from a user's shell), from fd 3 on.
 */
export async function startManager(extra: NodeJS.ProcessEnv = {}, opts: { inheritFds?: number[] } = {}): Promise<TestManager> {
  const dir = testDir();
  const env = pyroEnv(dir, extra);
  const socketPath = env.PYRO_MANAGER_SOCKET!;
  const child = spawn(process.execPath, [PYRO, "manager", "serve", "--socket", socketPath], { env, stdio: ["ignore", "ignore", "pipe", ...(opts.inheritFds ?? [])] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  let exited = false;
  child.once("exit", () => (exited = true));
  await waitFor(() => existsSync(socketPath) || exited, "the manager socket");
  if (exited) throw new Error(`manager exited: ${stderr}`);
  return {
    dir,
    stateDir: env.PYRO_STATE_DIR!,
    socketPath,
    env,
    pid: child.pid!,
    async stop() {
      // Workspace sandboxes outlive their manager by design: a test that failed midway may have left some.
      if (!exited) await deleteWorkspaces(socketPath).catch(() => {});
      if (!exited) {
        child.kill("SIGTERM");
        await waitFor(() => exited, "the manager to stop", 10_000).catch(() => child.kill("SIGKILL"));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deletes every workspace the manager on `socketPath` keeps (a test's leftovers), within a few seconds. */
async function deleteWorkspaces(socketPath: string): Promise<void> {
  const { client, close } = workspaceClient(socketPath);
  try {
    const { workspaces } = await client.listWorkspaces({}, { timeoutMs: 5_000 });
    for (const w of workspaces) await client.deleteWorkspace({ workspace: w.workspaceId }, { timeoutMs: 10_000 }).catch(() => {});
  } finally {
    close();
  }
}

/** Runs the real CLI synchronously. */
export function pyro(args: string[], env: NodeJS.ProcessEnv, input?: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [PYRO, ...args], { env, encoding: "utf8", input, timeout: 300_000 });
}

/** The manager log of a test manager, for failure messages. */
export function managerLog(m: TestManager): string {
  const path = join(m.stateDir, "manager.log");
  return existsSync(path) ? readFileSync(path, "utf8").slice(-4000) : "(no log)";
}
