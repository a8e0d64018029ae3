/**
 * The SDK client: one object per manager connection. Every method rejects with a
 * `PyroError` carrying the stable code the manager sent, the same code the CLI and MCP
 * report.
 */
import { ConnectError, createClient, type Client } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorDetailSchema } from "../../proto/gen/pyro/common/v1/error_pb.js";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import { EnvironmentService } from "../../proto/gen/pyro/manager/v1/environment_service_pb.js";
import { RunService, type RunExited, type RunRequestSchema } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { SystemService } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { CappedOutput } from "./capped-output.js";
import { defaultSocketPath } from "./contract/paths.js";
import { toDoctorReport, toEnvironment, toLimits, toPruneResult, toPullProgress, toRunStarted } from "./convert.js";
import { fromConnectError, PyroError } from "./errors.js";
import { managerCommand, managerLogPath, spawnManager } from "./manager-process.js";
import { RUN_LIMITS } from "./contract/limits.js";
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

/** How long a client waits for a manager it started to answer. */
const START_TIMEOUT_MS = 20_000;
const START_POLL_MS = 25;
/** After the started process exits, how long to keep waiting (another client's manager may be the one that wins). */
const EXITED_GRACE_MS = 3_000;

/** Socket errors that mean nothing listens there (yet): worth starting a manager. */
const NOT_LISTENING = new Set(["ENOENT", "ECONNREFUSED"]);
/** Socket errors that mean the manager cannot be reached at all. */
const UNREACHABLE = new Set([...NOT_LISTENING, "ECONNRESET", "EPIPE", "EACCES", "EPERM", "ENOTSOCK", "ENOTDIR", "ERR_HTTP2_SESSION_ERROR", "ERR_HTTP2_GOAWAY_SESSION"]);

/** The errno-style code of the socket error under a failed call, if that is why it failed. */
function socketErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && UNREACHABLE.has(code)) return code;
  }
  return undefined;
}

/** True when a server sent this error with a stable pyro code (not a transport failure). */
function hasErrorDetail(err: unknown): boolean {
  return err instanceof ConnectError && err.findDetails(ErrorDetailSchema).length > 0;
}

function isNotListening(err: unknown): boolean {
  const code = socketErrorCode(err);
  return code !== undefined && NOT_LISTENING.has(code);
}

/** Wraps an exception thrown by a caller's callback so it leaves unchanged, not as `internal`. */
class CallbackError {
  constructor(readonly inner: unknown) {}
}

function callback<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A): void {
  if (!fn) return;
  try {
    fn(...args);
  } catch (err) {
    throw new CallbackError(err);
  }
}

/**
 * Calls a callback that may return a promise and waits for it: the stream is not read
 * meanwhile, so HTTP/2 flow control carries a slow consumer's pace back to the manager and
 * on to the command's pipes.
 */
async function awaitedCallback<A extends unknown[]>(fn: ((...args: A) => void | Promise<void>) | undefined, ...args: A): Promise<void> {
  if (!fn) return;
  try {
    await fn(...args);
  } catch (err) {
    throw new CallbackError(err);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function uint(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new PyroError("invalid_argument", `${name} must be a non-negative integer, got ${value}`, { hint: `pass a whole number for ${name}` });
  }
  return value;
}

function runRequest(environment: string, command: string[] | string, o: RunOptions): MessageInitShape<typeof RunRequestSchema> {
  if (!environment) throw new PyroError("invalid_argument", "environment is empty", { hint: "name an environment, e.g. debian:12 (see `pyro env list`)" });
  const shell = typeof command === "string";
  if (shell ? command.trim() === "" : command.length === 0) {
    throw new PyroError("invalid_argument", "command is empty", { hint: "give the command to run, e.g. `pyro run debian:12 -- uname -a`" });
  }
  const stdin = typeof o.stdin === "string" ? new TextEncoder().encode(o.stdin) : (o.stdin ?? new Uint8Array(0));
  // Refused here rather than by the manager: a request it will not read is not worth sending.
  if (stdin.length > RUN_LIMITS.stdinBytes) {
    throw new PyroError("invalid_argument", `stdin is ${stdin.length} bytes; at most ${RUN_LIMITS.stdinBytes} are allowed`, { hint: "pass large data in smaller parts, or have the command fetch it" });
  }
  return {
    environment,
    argv: shell ? [] : command,
    shellCommand: shell ? command : "",
    vcpuCount: uint("vcpuCount", o.vcpuCount),
    memMib: uint("memMib", o.memMib),
    diskMib: uint("diskMib", o.diskMib),
    timeoutSeconds: uint("timeoutSeconds", o.timeoutSeconds),
    ttlSeconds: uint("ttlSeconds", o.ttlSeconds),
    network: o.network ?? false,
    allowHostCompat: o.allowHostCompat ?? false,
    backend: o.backend ?? "",
    env: o.env ?? {},
    cwd: o.cwd ?? "",
    stdin,
  };
}

/** Rejects with `cancelled` when `signal` aborts first. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new PyroError("cancelled", "cancelled while waiting for the manager"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PyroError("cancelled", "cancelled while waiting for the manager"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
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
  #starting: Promise<void> | undefined;

  constructor(opts: PyroOptions = {}) {
    this.#env = opts.env ?? process.env;
    this.socketPath = opts.socketPath ?? defaultSocketPath(this.#env);
    this.#autoStart = opts.autoStart ?? true;
    this.#conn = unixTransport(this.socketPath);
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
