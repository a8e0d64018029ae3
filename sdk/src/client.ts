/**
 * The SDK client: one object per manager connection. Every method rejects with a
 * `PyroError` carrying the stable code the manager sent, the same code the CLI and MCP
 * report.
 */
import { createClient, type Client } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import { EnvironmentService } from "../../proto/gen/pyro/manager/v1/environment_service_pb.js";
import { RunService, type RunExited, type RunRequestSchema } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { SystemService } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { awaitedCallback, callback, CallbackError } from "./callbacks.js";
import { hasErrorDetail, isNotListening, raceAbort, socketErrorCode } from "./call-errors.js";
import { CappedOutput } from "./capped-output.js";
import { defaultSocketPath } from "./contract/paths.js";
import { toDoctorReport, toEnvironment, toLimits, toPruneResult, toPullProgress, toRunStarted } from "./convert.js";
import { fromConnectError, PyroError } from "./errors.js";
import { managerCommand, managerLogPath, spawnManager } from "./manager-process.js";
import { runRequest } from "./request-checks.js";
import { unixTransport, type UnixTransport } from "./transport.js";
import type {
  CallOptions,
  DoctorReport,
  Env,
  EnvironmentInfo,
  EnvironmentsApi,
  PruneOptions,
  PruneResult,
  PullOptions,
  PyroClient,
  PyroOptions,
  RunOptions,
  RunResult,
  RunStartedInfo,
  RunTimeoutData,
  VersionInfo,
} from "./types.js";
import { VERSION } from "./version.js";
import type { WorkspaceCalls } from "./workspace-client.js";
import type {
  ApplyWorkspacePatchOptions,
  CreateWorkspaceOptions,
  ExecWorkspaceOptions,
  ExecWorkspaceResult,
  ListWorkspaceFilesOptions,
  ListWorkspacesOptions,
  PushWorkspaceOptions,
  ReadWorkspaceFileOptions,
  ResetWorkspaceOptions,
  SnapshotInfo,
  UpdateWorkspaceOptions,
  WorkspaceDiff,
  WorkspaceExportResult,
  WorkspaceFileContent,
  WorkspaceFileList,
  WorkspaceFileWritten,
  WorkspaceInfo,
  WorkspaceLogs,
  WorkspaceLogsOptions,
  WorkspacePatchResult,
  WorkspacePushResult,
} from "./workspace-types.js";

/** How long a client waits for a manager it started to answer. */
const START_TIMEOUT_MS = 20_000;
const START_POLL_MS = 25;
/** After the started process exits, how long to keep waiting (another client's manager may be the one that wins). */
const EXITED_GRACE_MS = 3_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}


/**
 * A client of the pyro manager. Connects to its Unix socket lazily and, unless
 * `autoStart: false`, starts a manager in the background when none answers.
 *
 * ```ts
 * const pyro = new Pyro();
 * const r = await pyro.run("debian:12", ["uname", "-a"]);
 * console.log(r.exitCode, r.stdout);
 * pyro.close();
 * ```
 */
export class Pyro implements PyroClient {
  /** The manager socket this client talks to. */
  readonly socketPath: string;
  readonly environments: EnvironmentsApi;

  readonly #env: Env;
  readonly #autoStart: boolean;
  readonly #conn: UnixTransport;
  readonly #runs: Client<typeof RunService>;
  readonly #envs: Client<typeof EnvironmentService>;
  readonly #system: Client<typeof SystemService>;
  #workspaces: Promise<WorkspaceCalls> | undefined;
  #starting: Promise<void> | undefined;

  constructor(opts: PyroOptions = {}) {
    this.#env = opts.env ?? process.env;
    this.socketPath = opts.socketPath ?? defaultSocketPath(this.#env);
    this.#autoStart = opts.transport ? false : (opts.autoStart ?? true);
    this.#conn = opts.transport ? { transport: opts.transport, close: () => {} } : unixTransport(this.socketPath);
    this.#runs = createClient(RunService, this.#conn.transport);
    this.#envs = createClient(EnvironmentService, this.#conn.transport);
    this.#system = createClient(SystemService, this.#conn.transport);
    this.environments = {
      list: (o) => this.#listEnvironments(o),
      pull: (name, o) => this.#pullEnvironment(name, o),
      inspect: (name, o) => this.#inspectEnvironment(name, o),
      prune: (o) => this.#pruneEnvironments(o),
    };
  }

  /** Creates a sandbox, runs one command in it, deletes it. A non-zero exit code is a result; a timeout rejects with code `timeout` and the partial output in `data`. */
  async run(environment: string, command: string[] | string, opts: RunOptions = {}): Promise<RunResult> {
    const req = runRequest(environment, command, opts);
    return await this.#call(() => this.#runOnce(req, opts), opts.signal);
  }

  /** What each backend needs and which one runs sandboxes by default. */
  doctor(opts: CallOptions = {}): Promise<DoctorReport> {
    return this.#call(async () => toDoctorReport(await this.#system.doctor({}, { signal: opts.signal })), opts.signal);
  }

  /** This client's version and the manager's. */
  version(opts: CallOptions = {}): Promise<VersionInfo> {
    return this.#call(async () => {
      const v = await this.#system.getVersion({}, { signal: opts.signal });
      return { client: VERSION, manager: v.version, managerPid: v.pid, managerUptimeSeconds: Number(v.uptimeSeconds) };
    }, opts.signal);
  }

  /** Creates and starts a workspace (installing the environment when missing), seeded from `seedPath` when given; it lives `ttlSeconds`. */
  createWorkspace(environment: string, opts: CreateWorkspaceOptions = {}): Promise<WorkspaceInfo> {
    return this.#workspace((w) => w.create(environment, opts), opts.signal);
  }

  /** Live workspaces, most recently changed first (reads never reorder them). */
  listWorkspaces(opts: ListWorkspacesOptions = {}): Promise<WorkspaceInfo[]> {
    return this.#workspace((w) => w.list(opts), opts.signal);
  }

  /** One workspace's record and state. */
  statusWorkspace(workspace: string, opts: CallOptions = {}): Promise<WorkspaceInfo> {
    return this.#workspace((w) => w.status(workspace, opts), opts.signal);
  }

  /** Renames a workspace and sets or clears its labels. */
  updateWorkspace(workspace: string, opts: UpdateWorkspaceOptions): Promise<WorkspaceInfo> {
    return this.#workspace((w) => w.update(workspace, opts), opts.signal);
  }

  /** The workspace's command journal, oldest first. */
  workspaceLogs(workspace: string, opts: WorkspaceLogsOptions = {}): Promise<WorkspaceLogs> {
    return this.#workspace((w) => w.logs(workspace, opts), opts.signal);
  }

  /** Ends the workspace's processes and keeps its files. */
  stopWorkspace(workspace: string, opts: CallOptions = {}): Promise<WorkspaceInfo> {
    return this.#workspace((w) => w.stop(workspace, opts), opts.signal);
  }

  /** Starts a stopped (or failed) workspace again on the same files. */
  startWorkspace(workspace: string, opts: CallOptions = {}): Promise<WorkspaceInfo> {
    return this.#workspace((w) => w.start(workspace, opts), opts.signal);
  }

  /** Ends the workspace and removes everything pyro kept for it. */
  deleteWorkspace(workspace: string, opts: CallOptions = {}): Promise<{ workspaceId: string }> {
    return this.#workspace((w) => w.delete(workspace, opts), opts.signal);
  }

  /** Runs one command in /workspace, streaming its output; a non-zero exit or a timeout is a result. */
  execWorkspace(workspace: string, command: string[] | string, opts: ExecWorkspaceOptions = {}): Promise<ExecWorkspaceResult> {
    return this.#workspace((w) => w.exec(workspace, command, opts), opts.signal);
  }

  /** A directory listing under /workspace. */
  listWorkspaceFiles(workspace: string, opts: ListWorkspaceFilesOptions = {}): Promise<WorkspaceFileList> {
    return this.#workspace((w) => w.listFiles(workspace, opts), opts.signal);
  }

  /** A text file under /workspace, its first `maxBytes` (default 65536). */
  readWorkspaceFile(workspace: string, path: string, opts: ReadWorkspaceFileOptions = {}): Promise<WorkspaceFileContent> {
    return this.#workspace((w) => w.readFile(workspace, path, opts), opts.signal);
  }

  /** Writes a text file under /workspace atomically (parents made, an existing file's mode kept); at most 1 MiB. */
  writeWorkspaceFile(workspace: string, path: string, text: string, opts: CallOptions = {}): Promise<WorkspaceFileWritten> {
    return this.#workspace((w) => w.writeFile(workspace, path, text, opts), opts.signal);
  }

  /** Applies a unified diff all-or-nothing; a conflict rejects with `patch_conflict`, every file's preflight result in `data.files`. */
  applyWorkspacePatch(workspace: string, patch: string, opts: ApplyWorkspacePatchOptions = {}): Promise<WorkspacePatchResult> {
    return this.#workspace((w) => w.applyPatch(workspace, patch, opts), opts.signal);
  }

  /** Imports a host directory (packed as it is read) or a .tar/.tar.gz/.tgz archive under /workspace. */
  pushWorkspace(workspace: string, sourcePath: string, opts: PushWorkspaceOptions = {}): Promise<WorkspacePushResult> {
    return this.#workspace((w) => w.push(workspace, sourcePath, opts), opts.signal);
  }

  /** Copies a file or directory of /workspace to `outputPath` on the host, which must not exist; nothing is written outside it. */
  exportWorkspace(workspace: string, path: string, outputPath: string, opts: CallOptions = {}): Promise<WorkspaceExportResult> {
    return this.#workspace((w) => w.export(workspace, path, outputPath, opts), opts.signal);
  }

  /** /workspace compared with the workspace's baseline. */
  diffWorkspace(workspace: string, opts: CallOptions = {}): Promise<WorkspaceDiff> {
    return this.#workspace((w) => w.diff(workspace, opts), opts.signal);
  }

  /** Keeps a named copy of /workspace to reset to later. */
  createSnapshot(workspace: string, name: string, opts: CallOptions = {}): Promise<SnapshotInfo> {
    return this.#workspace((w) => w.createSnapshot(workspace, name, opts), opts.signal);
  }

  listSnapshots(workspace: string, opts: CallOptions = {}): Promise<SnapshotInfo[]> {
    return this.#workspace((w) => w.listSnapshots(workspace, opts), opts.signal);
  }

  deleteSnapshot(workspace: string, name: string, opts: CallOptions = {}): Promise<void> {
    return this.#workspace((w) => w.deleteSnapshot(workspace, name, opts), opts.signal);
  }

  /** Recreates the workspace's sandbox from its baseline, or from `snapshot`. */
  resetWorkspace(workspace: string, opts: ResetWorkspaceOptions = {}): Promise<WorkspaceInfo> {
    return this.#workspace((w) => w.reset(workspace, opts), opts.signal);
  }

  /** Deletes every workspace past its expiry now; resolves with their ids. */
  reapExpired(opts: CallOptions = {}): Promise<string[]> {
    return this.#workspace((w) => w.reapExpired(opts), opts.signal);
  }

  /** Closes the connection; calls still running fail. */
  close(): void {
    this.#conn.close();
  }

  async #runOnce(req: MessageInitShape<typeof RunRequestSchema>, opts: RunOptions): Promise<RunResult> {
    const out = { stdout: new CappedOutput(), stderr: new CappedOutput() };
    let started: RunStartedInfo | undefined;
    let exited: RunExited | undefined;
    try {
      for await (const res of this.#runs.run(req, { signal: opts.signal })) {
        const ev = res.event;
        switch (ev.case) {
          case "progress":
            callback(opts.onProgress, toPullProgress(ev.value));
            break;
          case "started":
            started = toRunStarted(ev.value);
            callback(opts.onStarted, started);
            break;
          case "output": {
            const stream = ev.value.stream === OutputStream.STDERR ? "stderr" : "stdout";
            out[stream].push(ev.value.data);
            await awaitedCallback(opts.onOutput, stream, ev.value.data);
            break;
          }
          case "exited":
            exited = ev.value;
            break;
        }
      }
    } catch (err) {
      if (err instanceof CallbackError || isNotListening(err)) throw err;
      const pe = this.#mapError(err, opts.signal);
      if (pe instanceof PyroError && pe.code === "timeout") {
        const data: RunTimeoutData = {
          environment: started?.environment ?? req.environment ?? "",
          executionMode: started?.executionMode ?? "",
          sandboxId: started?.sandboxId ?? "",
          stdout: out.stdout.text(),
          stderr: out.stderr.text(),
          stdoutTruncated: out.stdout.truncated,
          stderrTruncated: out.stderr.truncated,
        };
        throw new PyroError("timeout", pe.message, { hint: pe.hint, cause: err, data: { ...data } });
      }
      throw pe;
    }
    if (!exited) throw new PyroError("internal", "the manager ended the run without an exit status");
    return {
      environment: started?.environment ?? req.environment ?? "",
      executionMode: exited.executionMode || started?.executionMode || "",
      sandboxId: started?.sandboxId ?? "",
      seccomp: started?.seccomp ?? "",
      limits: started?.limits ?? toLimits(undefined),
      exitCode: exited.exitCode,
      signal: exited.signal,
      durationMs: Number(exited.durationMs),
      totalMs: Number(exited.totalMs),
      stdout: out.stdout.text(),
      stderr: out.stderr.text(),
      stdoutTruncated: out.stdout.truncated,
      stderrTruncated: out.stderr.truncated,
    };
  }

  #listEnvironments(opts: CallOptions = {}): Promise<EnvironmentInfo[]> {
    return this.#call(async () => {
      const res = await this.#envs.listEnvironments({}, { signal: opts.signal });
      return res.environments.map(toEnvironment);
    }, opts.signal);
  }

  #pullEnvironment(name: string, opts: PullOptions = {}): Promise<EnvironmentInfo> {
    return this.#call(async () => {
      let installed: EnvironmentInfo | undefined;
      for await (const res of this.#envs.pullEnvironment({ name, force: opts.force ?? false }, { signal: opts.signal })) {
        if (res.event.case === "progress") callback(opts.onProgress, toPullProgress(res.event.value));
        else if (res.event.case === "environment") installed = toEnvironment(res.event.value);
      }
      if (!installed) throw new PyroError("internal", `the manager ended the pull of ${name} without the installed environment`);
      return installed;
    }, opts.signal);
  }

  #inspectEnvironment(name: string, opts: CallOptions = {}): Promise<EnvironmentInfo> {
    return this.#call(async () => {
      const res = await this.#envs.inspectEnvironment({ name }, { signal: opts.signal });
      if (!res.environment) throw new PyroError("internal", `the manager described ${name} without an environment`);
      return toEnvironment(res.environment);
    }, opts.signal);
  }

  #pruneEnvironments(opts: PruneOptions = {}): Promise<PruneResult> {
    return this.#call(async () => toPruneResult(await this.#envs.pruneEnvironments({ all: opts.all ?? false }, { signal: opts.signal })), opts.signal);
  }

  /**
   * Runs `attempt`; when it failed because nothing listens on the socket (which happens
   * before any request is sent, so a retry is safe), starts a manager and tries once more.
   */
  async #call<T>(attempt: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    try {
      return await attempt();
    } catch (err) {
      if (!(this.#autoStart && isNotListening(err))) throw this.#mapError(err, signal);
    }
    await raceAbort(this.#startManager(), signal);
    try {
      return await attempt();
    } catch (err) {
      throw this.#mapError(err, signal);
    }
  }

  /** A workspace call; the workspace code (and the tar code it uses) loads on the first one. */
  #workspace<T>(attempt: (calls: WorkspaceCalls) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    this.#workspaces ??= import("./workspace-client.js").then((m) => new m.WorkspaceCalls(this.#conn.transport));
    return this.#call(async () => attempt(await this.#workspaces!), signal);
  }

  /**
   * The error a caller sees: a PyroError, or the caller's own callback's exception unchanged.
   * A call cancelled on the wire that the caller did not cancel (its `signal` never aborted)
   * lost its manager: the connection was reset or the manager died mid-call.
   */
  #mapError(err: unknown, signal: AbortSignal | undefined): unknown {
    if (err instanceof CallbackError) return err.inner;
    if (err instanceof PyroError) return err;
    const hint = this.#autoStart
      ? `see the manager log at ${managerLogPath(this.#env)}, or start it by hand with \`pyro manager serve\``
      : "start the manager with `pyro manager serve` (or let the client start it: autoStart)";
    const sock = socketErrorCode(err);
    if (sock) {
      return new PyroError("manager_unavailable", `cannot reach the pyro manager at ${this.socketPath} (${sock})`, { hint, cause: err });
    }
    const pe = fromConnectError(err);
    if (pe.code === "cancelled" && !signal?.aborted && !hasErrorDetail(err)) {
      return new PyroError("manager_unavailable", `the connection to the pyro manager at ${this.socketPath} was lost mid-call (the manager stopped or crashed)`, { hint, cause: err });
    }
    return pe;
  }

  /** One start at a time per client; concurrent calls share it. */
  #startManager(): Promise<void> {
    this.#starting ??= this.#spawnAndWait().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  /**
   * Starts a manager in the background and waits until it answers GetVersion. When several
   * clients do this at once, the managers race for the socket and all but one refuse to
   * start; every client just waits for whichever answers.
   */
  async #spawnAndWait(): Promise<void> {
    const log = managerLogPath(this.#env);
    const child = await spawnManager(managerCommand(this.#env, this.socketPath), this.#env);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last: unknown;
    for (;;) {
      try {
        await this.#system.getVersion({}, { timeoutMs: 2_000 });
        return;
      } catch (err) {
        last = err;
      }
      const now = Date.now();
      if (child.exit && now - child.exit.at > EXITED_GRACE_MS) {
        throw new PyroError("manager_unavailable", `the manager pyro started for ${this.socketPath} ${child.exit.how} before it answered`, {
          hint: `see the manager log at ${log}`,
          cause: last,
        });
      }
      if (now >= deadline) {
        throw new PyroError("manager_unavailable", `no manager answered on ${this.socketPath} within ${START_TIMEOUT_MS / 1000} s of starting one`, {
          hint: `see the manager log at ${log}`,
          cause: last,
        });
      }
      await sleep(START_POLL_MS);
    }
  }
}
