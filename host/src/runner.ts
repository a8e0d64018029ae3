/**
 * One-shot runs: validate → pick the backend → install the environment if missing →
 * take a fresh sandbox → exec through its agent, streaming events → delete the sandbox.
 * A plain class; the gRPC RunService is a thin adapter over it.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import type { LimitsSchema } from "../../proto/gen/pyro/common/v1/limits_pb.js";
import { type RunRequest, type RunResponse, RunResponseSchema } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { echoInput } from "../../sdk/src/echo.js";
import { PyroError } from "../../sdk/src/errors.js";
import { RUN_LIMITS, SANDBOX_BOUNDS as B } from "../../sdk/src/contract/limits.js";
import { withProgress } from "./async-queue.js";
import type { Sandbox } from "./backends/backend.js";
import type { BackendRegistry } from "./backends/registry.js";
import { PIDS_MAX, type LimitsInForce, type Resources } from "./backends/resources.js";
import { findEntry } from "./environments/catalog.js";
import type { EnvironmentStore, InstalledEnvironment } from "./environments/store.js";
import { execInSandbox, WATCHDOG_GRACE_MS } from "./exec/exec-pipeline.js";
import { COPY_ATTEMPTS, CopyGone, copyKeptGoing, createLeasedSandbox, installedCopy } from "./leased-sandbox.js";
import type { Logger } from "./logger.js";
import { pullProgress } from "./progress.js";
import type { SandboxPool } from "./sandbox-pool.js";

export const RUN_DEFAULTS = { timeoutSeconds: B.timeoutSeconds.default, ttlSeconds: B.ttlSeconds.default, vcpuCount: B.vcpuCount.default, memMib: B.memMib.default, diskMib: B.diskMib.default } as const;
const LIMITS = { timeoutSeconds: B.timeoutSeconds.max, ttlSeconds: B.ttlSeconds.max, vcpuCount: B.vcpuCount.max, memMib: B.memMib.max, diskMib: B.diskMib.max, ...RUN_LIMITS };

type Event = MessageInitShape<typeof RunResponseSchema>["event"];
const event = (e: Event): RunResponse => create(RunResponseSchema, { event: e });

function check(cond: boolean, message: string): void {
  if (!cond) throw new PyroError("invalid_argument", message);
}

/** Fills defaults and refuses what is out of range, before anything is started. */
export function validateRun(req: RunRequest) {
  check(req.environment !== "", "an environment is required, e.g. debian:12");
  const entry = findEntry(req.environment);
  check((req.argv.length > 0) !== (req.shellCommand !== ""), "give a command: either argv or shell_command");
  check(req.argv.length === 0 || req.argv[0] !== "", "the command's program name is empty");
  const size = [...req.argv, req.shellCommand, ...Object.keys(req.env), ...Object.values(req.env)].reduce((n, s) => n + Buffer.byteLength(s), 0);
  check(size <= LIMITS.argBytes, `the command and environment are ${size} bytes; at most ${LIMITS.argBytes} are allowed`);
  // The kernel refuses to start a program with any one argument or NAME=VALUE longer than this (E2BIG).
  req.argv.forEach((a, i) => {
    const n = Buffer.byteLength(a);
    check(n <= LIMITS.oneArgBytes, `argument ${i + 1} of the command is ${n} bytes; one argument may be at most ${LIMITS.oneArgBytes} bytes (pass large data on stdin)`);
  });
  const shellBytes = Buffer.byteLength(req.shellCommand);
  check(shellBytes <= LIMITS.oneArgBytes, `the shell command is ${shellBytes} bytes; it may be at most ${LIMITS.oneArgBytes} bytes (pass large data on stdin)`);
  for (const [name, value] of Object.entries(req.env)) {
    const n = Buffer.byteLength(name) + 1 + Buffer.byteLength(value);
    check(n <= LIMITS.oneArgBytes, `environment variable ${echoInput(name, 64)} is ${n} bytes with its name; one may be at most ${LIMITS.oneArgBytes} bytes (pass large data on stdin)`);
  }
  check(req.stdin.length <= LIMITS.stdinBytes, `stdin is ${req.stdin.length} bytes; at most ${LIMITS.stdinBytes} are allowed`);
  const timeoutSeconds = req.timeoutSeconds || RUN_DEFAULTS.timeoutSeconds;
  const ttlSeconds = req.ttlSeconds || RUN_DEFAULTS.ttlSeconds;
  const vcpuCount = req.vcpuCount || RUN_DEFAULTS.vcpuCount;
  const memMib = req.memMib || RUN_DEFAULTS.memMib;
  const diskMib = req.diskMib || RUN_DEFAULTS.diskMib;
  check(timeoutSeconds <= LIMITS.timeoutSeconds, `timeout_seconds must be at most ${LIMITS.timeoutSeconds}`);
  check(ttlSeconds <= LIMITS.ttlSeconds, `ttl_seconds must be at most ${LIMITS.ttlSeconds}`);
  check(vcpuCount <= LIMITS.vcpuCount, `vcpu_count must be at most ${LIMITS.vcpuCount}`);
  check(memMib >= B.memMib.min && memMib <= LIMITS.memMib, `mem_mib must be between ${B.memMib.min} and ${LIMITS.memMib}`);
  check(diskMib >= B.diskMib.min && diskMib <= LIMITS.diskMib, `disk_mib must be between ${B.diskMib.min} and ${LIMITS.diskMib}`);
  // A one-shot sandbox lives as long as its command: it must not outlive its TTL either.
  const commandSeconds = Math.min(timeoutSeconds, ttlSeconds);
  return { entry, timeoutSeconds, ttlSeconds, vcpuCount, memMib, diskMib, commandSeconds };
}

export interface RunnerOptions {
  stateDir: string;
  store: EnvironmentStore;
  backends: BackendRegistry;
  pool: SandboxPool;
  /** Backend used when a request names none ("" = automatic). */
  defaultBackend: string;
  log: Logger;
}

/** The wire form of the limits a sandbox runs under. */
function limitsMessage(l: LimitsInForce): MessageInitShape<typeof LimitsSchema> {
  const limit = (s: LimitsInForce["memMib"]) => ({ value: BigInt(s.value), enforced: s.enforced, detail: s.detail });
  return { vcpuCount: limit(l.vcpuCount), memMib: limit(l.memMib), diskMib: limit(l.diskMib), pids: limit(l.pids) };
}

export class Runner {
  constructor(private readonly o: RunnerOptions) {}

  async *run(req: RunRequest, signal: AbortSignal): AsyncGenerator<RunResponse> {
    const t0 = performance.now();
    const v = validateRun(req);
    const backend = await this.o.backends.select(req.backend || this.o.defaultBackend, req.allowHostCompat);

    const resources: Resources = { vcpuCount: v.vcpuCount, memMib: v.memMib, diskMib: v.diskMib, pidsMax: PIDS_MAX };
    let sandbox: Sandbox | undefined;
    let copy: InstalledEnvironment | undefined;
    for (let attempt = 1; !sandbox; attempt++) {
      // The host backend runs on the host's own filesystem: no environment to install.
      if (backend.isolated) {
        // A corrupt copy is left to its users; ensure() builds a new one beside it.
        copy = await installedCopy(this.o.store, v.entry.name);
        copy ??= yield* withProgress<RunResponse, InstalledEnvironment>((push) =>
          this.o.store.ensure(v.entry.name, { signal, onProgress: (p) => push(event({ case: "progress", value: pullProgress(p) })) }),
        );
      }
      // Keyed by the copy itself (a ready sandbox of a replaced copy is never handed out) and the limits.
      const kind = `${v.entry.name}|${backend.name}|`;
      const key = `${kind}${resources.vcpuCount}|${resources.memMib}|${resources.diskMib}|${copy?.dir ?? "host"}`;
      const leased = copy;
      const make = (sig: AbortSignal) =>
        createLeasedSandbox({ backend, store: this.o.store, stateDir: this.o.stateDir, log: this.o.log, environment: v.entry.name, copy: leased, network: req.network, resources }, sig);
      try {
        // Sandboxes with network are made to order; the rest come ready from the pool.
        if (req.network) sandbox = await make(signal);
        else {
          // Ready sandboxes of an older copy hold it on disk; let them go.
          void this.o.pool.drop(kind, (k) => k === key);
          // Ready sandboxes only of a current, sound copy: one of a replaced or corrupt copy would keep it on disk.
          sandbox = await this.o.pool.take(key, make, { signal, canRefill: async () => !leased || (await this.o.store.isUsable(leased)) });
        }
      } catch (err) {
        // The copy was replaced or removed between finding and leasing it (a rebuild, a prune, another manager): find the current one.
        if (!(err instanceof CopyGone)) throw err;
        if (attempt >= COPY_ATTEMPTS) throw copyKeptGoing(v.entry.name);
        this.o.log.info("environment copy went away before use; resolving it again", { environment: v.entry.name, path: err.path });
      }
    }

    try {
      yield* this.exec(sandbox, req, v.commandSeconds, v.ttlSeconds, t0, signal);
    } finally {
      // Off the caller's path: the stream ends as soon as the command has; the sandbox is
      // torn down (ending its lease) after the answer has left. (The pool refilled when it was taken.)
      const done = sandbox;
      void done.destroy().catch((err) => this.o.log.warn("sandbox destroy failed", { sandbox: done.id, error: err }));
    }
  }

  private async *exec(sandbox: Sandbox, req: RunRequest, timeoutSeconds: number, ttlSeconds: number, t0: number, signal: AbortSignal): AsyncGenerator<RunResponse> {
    const mode = sandbox.backend;
    const events = execInSandbox(
      sandbox,
      { argv: req.argv, shellCommand: req.shellCommand, cwd: req.cwd, env: req.env, stdin: req.stdin },
      {
        timeoutMs: timeoutSeconds * 1000,
        // The sandbox's TTL bounds a run whose output is still on its way to a slow reader.
        hardLimitMs: Math.max(ttlSeconds, timeoutSeconds) * 1000 + WATCHDOG_GRACE_MS,
        signal,
        log: this.o.log,
        // The client keeps its own copy of the output; the run keeps none.
        outputLimitBytes: 0,
      },
    );
    try {
      for await (const e of events) {
        if (e.type === "started") {
          yield event({ case: "started", value: { sandboxId: sandbox.id, executionMode: mode, environment: sandbox.environment, pid: e.pid, seccomp: sandbox.seccomp ?? "", limits: limitsMessage(sandbox.limits) } });
        } else if (e.type === "output") {
          yield event({ case: "output", value: { stream: e.stream === "stderr" ? OutputStream.STDERR : OutputStream.STDOUT, data: e.data } });
        } else {
          const r = e.result;
          if (r.timedOut) {
            throw new PyroError("timeout", `the command did not finish within ${timeoutSeconds}s; its process group was killed (${mode} backend)`, {
              data: { execution_mode: mode, sandbox_id: sandbox.id },
            });
          }
          yield event({
            case: "exited",
            value: { exitCode: r.exitCode, signal: r.signal, durationMs: BigInt(r.durationMs), totalMs: BigInt(Math.round(performance.now() - t0)), executionMode: mode },
          });
          return;
        }
      }
    } catch (err) {
      if (err instanceof PyroError && err.code === "cancelled") throw new PyroError("cancelled", "the run was cancelled; its sandbox is deleted", { cause: err });
      throw err;
    }
  }
}
