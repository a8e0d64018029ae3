/**
 * The manager's composition root: builds config-derived services once and serves
 * pyro.manager.v1 on a Unix socket only its owner can use.
 */
import { mkdir, readdir, rm, chmod } from "node:fs/promises";
import { createServer } from "node:http2";
import { dirname, join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { EnvironmentService } from "../../proto/gen/pyro/manager/v1/environment_service_pb.js";
import { RunService } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { SystemService } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { VERSION } from "../../sdk/src/version.js";
import { FirecrackerBackend } from "./backends/firecracker-backend.js";
import { HostBackend } from "./backends/host/host-backend.js";
import { NamespaceBackend } from "./backends/namespace/namespace-backend.js";
import { BackendRegistry } from "./backends/registry.js";
import type { ManagerConfig } from "./config.js";
import { MmdebstrapBuilder } from "./environments/builder.js";
import { EnvironmentStore } from "./environments/store.js";
import { fileLogger, type Logger } from "./logger.js";
import { findAgentBundle, prepareAgentRuntime, type AgentRuntime } from "./runtime/agent-runtime.js";
import { Runner } from "./runner.js";
import { SandboxPool } from "./sandbox-pool.js";
import { environmentService } from "./services/environment-service.js";
import { runService } from "./services/run-service.js";
import { systemService } from "./services/system-service.js";
import { acquireLock } from "./single-instance.js";

export { AlreadyRunning } from "./single-instance.js";

export interface ManagerHandle {
  close(): Promise<void>;
}

const POOL_IDLE_MS = 10 * 60_000;

function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn().catch((err) => {
    p = undefined;
    throw err;
  }));
}

/** Builds the manager's services from its configuration: the one place they are wired. */
function buildManager(config: ManagerConfig, log: Logger, env: Record<string, string | undefined> = process.env) {
  const root = process.getuid?.() === 0;
  const sandboxUser = { uid: config.sandboxUid, gid: config.sandboxGid };
  const runtime: () => Promise<AgentRuntime> = memo(() => prepareAgentRuntime(config.cacheDir, findAgentBundle(env), { log }));
  const store = new EnvironmentStore({
    cacheDir: config.cacheDir,
    mirror: config.debianMirror,
    log,
    builder: new MmdebstrapBuilder({ log }),
    rootfsOwner: root ? sandboxUser : undefined,
  });
  const namespace = new NamespaceBackend({ runtime, log, sandboxUser });
  const backends = new BackendRegistry([new FirecrackerBackend(), namespace, new HostBackend({ runtime, log })]);
  const pool = new SandboxPool({ size: config.poolSize, idleMs: POOL_IDLE_MS, log });
  const runner = new Runner({ stateDir: config.stateDir, store, backends, pool, defaultBackend: config.backend, log });
  const routes = (router: ConnectRouter) => {
    router.service(RunService, runService({ runner, log }));
    router.service(EnvironmentService, environmentService({ store, pool, log }));
    router.service(SystemService, systemService({ backends, store, stateDir: config.stateDir, cacheDir: config.cacheDir, defaultBackend: config.backend, namespaceLimits: () => namespace.enforceable(), log }));
  };
  return { routes, pool, store, backends, runner, namespace };
}

/**
 * Creates `dir` with `mode`. The mode is set only on a directory made here: a directory the
 * user named that exists already (PYRO_STATE_DIR=/tmp, say) keeps its own.
 */
async function ensureDir(dir: string, mode: number): Promise<void> {
  if ((await mkdir(dir, { recursive: true, mode })) !== undefined) await chmod(dir, mode); // past the umask
}

/** Prepares directories: traversable (not readable) by the sandbox uid when root, owner-only otherwise. */
async function prepareDirs(config: ManagerConfig): Promise<void> {
  const root = process.getuid?.() === 0;
  const passMode = root ? 0o711 : 0o700;
  await ensureDir(config.stateDir, passMode);
  await ensureDir(dirname(config.socketPath), 0o700);
  await ensureDir(config.cacheDir, 0o755);
  // Sandboxes are mounted by root, so when root the sandbox uid needs no way to the
  // environments' trees (which it owns, to be root inside): none, so that no process of
  // that uid on the host can change them for the next sandbox.
  const environments = join(config.cacheDir, "environments");
  await mkdir(environments, { recursive: true, mode: 0o755 });
  await chmod(environments, root ? 0o700 : 0o755);
  const sandboxes = join(config.stateDir, "sandboxes");
  await mkdir(sandboxes, { recursive: true, mode: passMode });
  await chmod(sandboxes, passMode); // ours alone
}

/**
 * One-shot sandboxes do not outlive their manager: whatever is left was left by a crash,
 * processes still in its sandboxes' cgroups included. Call holding the lock.
 */
async function removeLeftoverSandboxes(config: ManagerConfig, namespace: NamespaceBackend): Promise<void> {
  const sandboxes = join(config.stateDir, "sandboxes");
  const names = await readdir(sandboxes);
  await namespace.removeLeftovers(names.filter((n) => /^sb-[0-9a-f]+$/.test(n)));
  for (const name of names) await rm(join(sandboxes, name), { recursive: true, force: true }).catch(() => {});
}

/** Serves the manager on config.socketPath until close() (or SIGTERM/SIGINT). Throws AlreadyRunning when another one owns the socket. */
export async function serveManager(config: ManagerConfig, opts: { log?: Logger; handleSignals?: boolean } = {}): Promise<ManagerHandle> {
  await prepareDirs(config);
  const release = acquireLock(`${config.socketPath}.lock`);
  const log = opts.log ?? fileLogger(config.logPath, config.debug);
  try {
    const { routes, pool, namespace } = buildManager(config, log);
    await removeLeftoverSandboxes(config, namespace);
    await rm(config.socketPath, { force: true }); // stale: the lock says no manager owns it
    const server = createServer(connectNodeAdapter({ routes }));
    const umask = process.umask(0o177); // the socket is born owner-only, no window
    try {
      await new Promise<void>((ok, fail) => {
        server.once("error", fail);
        server.listen(config.socketPath, () => ok());
      });
    } finally {
      process.umask(umask);
    }
    await chmod(config.socketPath, 0o600);
    log.info("manager started", { version: VERSION, pid: process.pid, socket: config.socketPath, stateDir: config.stateDir, cacheDir: config.cacheDir, backend: config.backend || "automatic" });

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        log.info("manager stopping");
        server.close();
        await pool.close();
        await rm(config.socketPath, { force: true });
        release();
      })());
    if (opts.handleSignals) {
      for (const sig of ["SIGTERM", "SIGINT"] as const) {
        process.once(sig, () => void close().finally(() => process.exit(0)));
      }
    }
    return { close };
  } catch (err) {
    release();
    throw err;
  }
}
