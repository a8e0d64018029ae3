/**
 * The manager's composition root: builds config-derived services once and serves
 * pyro.manager.v1 on a Unix socket only its owner can use.
 */
import { chmod, lstat, mkdir, rm } from "node:fs/promises";
import { connect } from "node:net";
import { createServer } from "node:http2";
import { appendFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { EnvironmentService } from "../../proto/gen/pyro/manager/v1/environment_service_pb.js";
import { RunService } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { SystemService } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { RUN_LIMITS } from "../../sdk/src/contract/limits.js";
import { PyroError } from "../../sdk/src/errors.js";
import { VERSION } from "../../sdk/src/version.js";
import { FirecrackerBackend } from "./backends/firecracker-backend.js";
import { HostBackend } from "./backends/host/host-backend.js";
import { NamespaceBackend } from "./backends/namespace/namespace-backend.js";
import { BackendRegistry } from "./backends/registry.js";
import { socketPathProblem, type ManagerConfig } from "./config.js";
import { MmdebstrapBuilder } from "./environments/builder.js";
import { EnvironmentStore } from "./environments/store.js";
import { fileLogger, type Logger } from "./logger.js";
import { findAgentBundle, prepareAgentRuntime, type AgentRuntime } from "./runtime/agent-runtime.js";
import { Runner } from "./runner.js";
import { SandboxPool } from "./sandbox-pool.js";
import { GuestFiles } from "./files/guest-files.js";
import { WorkspaceStore } from "./workspaces/workspace-store.js";
import { WorkspaceSandboxes } from "./workspaces/workspace-sandboxes.js";
import { Workspaces } from "./workspaces/workspaces.js";
import { WorkspaceFiles } from "./workspaces/workspace-files.js";
import { PatchApplier } from "./workspaces/workspace-patch.js";
import { workspaceService } from "./services/workspace-service.js";
import { WorkspaceService } from "../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { recoverSandboxes } from "./sandbox-recovery.js";
import { environmentService } from "./services/environment-service.js";
import { grpcHandler } from "./services/grpc-handler.js";
import { runService } from "./services/run-service.js";
import { systemService } from "./services/system-service.js";
import { acquireLock } from "./single-instance.js";

export { AlreadyRunning } from "./single-instance.js";

export interface ManagerHandle {
  close(): Promise<void>;
}

const POOL_IDLE_MS = 10 * 60_000;
/** The largest request the manager reads: the largest Run (stdin plus command and environment) and room for its other fields. */
const MAX_REQUEST_BYTES = RUN_LIMITS.stdinBytes + RUN_LIMITS.argBytes + (64 << 10);

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
  const workspaces = new Workspaces({
    store: new WorkspaceStore({ stateDir: config.stateDir, log }),
    sandboxes: new WorkspaceSandboxes({ stateDir: config.stateDir, store, backends, defaultBackend: config.backend, log }),
    files: (sandbox) => new GuestFiles(sandbox.files, { sandbox: sandbox.id, log }),
    log,
  });
  const files = new WorkspaceFiles(workspaces);
  const patches = new PatchApplier({ workspaces, log });
  const routes = (router: ConnectRouter) => {
    router.service(RunService, runService({ runner, log }));
    router.service(EnvironmentService, environmentService({ store, pool, log }));
    router.service(WorkspaceService, workspaceService({ workspaces, files, patches, log }));
    router.service(SystemService, systemService({ backends, store, stateDir: config.stateDir, cacheDir: config.cacheDir, defaultBackend: config.backend, namespaceLimits: () => namespace.enforceable(), log }));
  };
  return { routes, pool, store, backends, runner, namespace, workspaces };
}

/**
 * Creates `dir` with `mode`. The mode is set only on a directory made here: a directory the
 * user named that exists already (PYRO_STATE_DIR=/tmp, say) keeps its own.
 */
async function ensureDir(dir: string, mode: number): Promise<void> {
  if ((await mkdir(dir, { recursive: true, mode })) !== undefined) await chmod(dir, mode); // past the umask
}

/**
 * Prepares directories: traversable (not readable) by the sandbox uid when root, owner-only
 * otherwise. Only pyro's own directories are made: the state and cache directories and
 * `<state>/sandboxes`; the socket's directory only when it is the state directory.
 */
async function prepareDirs(config: ManagerConfig): Promise<void> {
  const root = process.getuid?.() === 0;
  const passMode = root ? 0o711 : 0o700;
  await ensureDir(config.stateDir, passMode);
  await ensureDir(config.cacheDir, 0o755);
  // Sandboxes are mounted by root, so when root the sandbox uid needs no way to the
  // environments' trees (which it owns, to be root inside): none, so that no process of
  // that uid on the host can change them for the next sandbox.
  const environments = join(config.cacheDir, "environments");
  await mkdir(environments, { recursive: true, mode: 0o755 });
  await chmod(environments, root ? 0o700 : 0o755);
  const sandboxes = join(config.stateDir, "sandboxes");
  await ensureDir(sandboxes, passMode);
  // Sandboxes are made in there: a folder of that name someone else owns, or can write, is not
  // ours; one the sandbox uid cannot pass through would fail every sandbox. Refused, not chmod-ed.
  const st = await lstat(sandboxes);
  const why =
    !st.isDirectory() || st.uid !== process.getuid?.() || st.mode & 0o022
      ? "is not a directory only this user can write"
      : root && !(st.mode & 0o001)
        ? "cannot be passed through by the sandbox user (it needs mode 0711)"
        : undefined;
  if (why) {
    throw new PyroError("invalid_configuration", `${sandboxes} ${why}; pyro keeps its sandboxes there`, {
      hint: "point PYRO_STATE_DIR at a directory of pyro's own (e.g. unset it for the default), or fix that directory's mode",
    });
  }
}

/**
 * Frees the socket path for listening. Only a socket nobody answers on is removed (what a
 * manager that died left); a live one belongs to someone else, whatever it is. Call holding the lock.
 */
async function freeSocketPath(socketPath: string, stateDir: string): Promise<void> {
  const problem = socketPathProblem(socketPath, stateDir); // again: the path may have changed since
  if (problem) throw problem;
  if (!(await lstat(socketPath).catch(() => undefined))) return;
  const answered = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (answered) {
    throw new PyroError("invalid_configuration", `something already serves on ${socketPath}, and it is not a manager holding pyro's lock`, {
      hint: "stop it, or point PYRO_MANAGER_SOCKET (or --socket) at another path",
    });
  }
  await rm(socketPath, { force: true });
}

/** Serves the manager on config.socketPath until close() (or SIGTERM/SIGINT). Throws AlreadyRunning when another one owns the socket. */
export async function serveManager(config: ManagerConfig, opts: { log?: Logger; handleSignals?: boolean } = {}): Promise<ManagerHandle> {
  // Checked before anything is made or locked: a bad path must cost nothing.
  const problem = socketPathProblem(config.socketPath, config.stateDir);
  if (problem) throw problem;
  await prepareDirs(config).catch((err: unknown) => startFailed(config, err));
  const release = await acquireLock(`${config.socketPath}.lock`);
  const log = opts.log ?? fileLogger(config.logPath, config.debug);
  try {
    const { routes, pool, store, namespace, backends, workspaces } = buildManager(config, log);
    // Sandboxes an earlier manager left: durable ones are taken over for their owners to
    // claim; one-shot and pooled ones, and launches a crash cut short, end and go.
    const recovered = await recoverSandboxes({
      sandboxesDir: join(config.stateDir, "sandboxes"),
      backend: (name) => backends.backend(name),
      store,
      log,
      endLeftovers: (ids) => namespace.removeLeftovers(ids),
    });
    // Workspaces claim their sandboxes; one left unclaimed has no owner (a creation or reset a
    // crash cut short), so it ends.
    await workspaces.recover(async (id) => recovered.claim(id));
    await recovered.endUnclaimed();
    workspaces.startReaper();
    // Old copies whose sandboxes are gone, and builds a crash cut short: off the start-up path.
    void store.collect().catch((err: unknown) => log.warn("tidying the environment cache failed", { err }));
    await freeSocketPath(config.socketPath, config.stateDir);
    const server = createServer(grpcHandler({ routes, readMaxBytes: MAX_REQUEST_BYTES, log }));
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
        // Workspace sandboxes outlive the manager: the next one re-adopts them.
        workspaces.close();
        await pool.close();
        await rm(config.socketPath, { force: true });
        await release();
      })());
    if (opts.handleSignals) {
      for (const sig of ["SIGTERM", "SIGINT"] as const) {
        process.once(sig, () => void close().finally(() => process.exit(0)));
      }
    }
    return { close };
  } catch (err) {
    await release();
    startFailed(config, err);
  }
}

/**
 * Notes why the manager could not start in its log, where a client that started it in the
 * background points the user, then throws `err`. Written synchronously: the process is about
 * to exit. Nothing is created for it: no log directory, no log.
 */
function startFailed(config: ManagerConfig, err: unknown): never {
  try {
    if (statSync(dirname(config.logPath)).isDirectory()) {
      const why = err instanceof PyroError ? { code: err.code, message: err.message, hint: err.hint } : { message: (err as Error).message };
      appendFileSync(config.logPath, JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "manager could not start", ...why }) + "\n", { mode: 0o600 });
    }
  } catch {
    // The log is a courtesy here; the error itself still reaches the caller.
  }
  throw err;
}
