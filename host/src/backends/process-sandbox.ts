/**
 * The sandbox handle of the backends whose sandbox is a set of host processes (namespace and
 * host): its record, its agent connection, and its life — start, stop, destroy, recover.
 * What differs between backends (how the processes start and end, what they ran into) is a
 * `SandboxUnit`; everything here is shared.
 *
 * The record is the truth a later manager goes by, so it is written before anything it
 * would need to know exists: the processes as soon as they are known, "running" once the
 * agent answered, "stopped" once every process is gone.
 */
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { FileService } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { ProcessService } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { AgentConnection } from "../agent-link/agent-connection.js";
import { dialUnixSocket } from "../agent-link/agent-dialer.js";
import { untrustedText } from "../agent-link/untrusted-text.js";
import { removeTree } from "../environments/remove-tree.js";
import type { Logger } from "../logger.js";
import { self } from "../process-identity.js";
import { RECORD_FILE, writeSandboxRecord, type SandboxRecord } from "../sandbox-record.js";
import type { BackendName, Sandbox, SandboxState } from "./backend.js";
import { awaitAgent, type AwaitAgentOptions } from "./agent-process.js";
import { unenforcedLimits, type LimitBreach, type LimitsInForce } from "./resources.js";
import { capLog } from "./sandbox-logs.js";

const LOG_CHECK_MS = 30_000;

/** What a launch may do with the record and the agent while it starts. */
export interface LaunchContext {
  /** The record as last saved. */
  readonly record: SandboxRecord;
  /** Merges `patch` into the record and writes it. */
  save(patch: Partial<SandboxRecord>): Promise<void>;
  /** Waits until the agent answers the handshake (see awaitAgent). */
  awaitAgent(o: Omit<AwaitAgentOptions, "signal" | "timeoutMs">): Promise<void>;
  readonly signal?: AbortSignal;
  /** True on the sandbox's first launch (its files are new). */
  readonly first: boolean;
}

/** Which of the processes a record names still run. */
export type Liveness = "all" | "some" | "none";

/** A backend's part of a process sandbox. */
export interface SandboxUnit {
  /**
   * Starts the sandbox's processes on its files, saving each into the record as soon as it is
   * known, and returns once its agent answered. On failure it ends what it started itself.
   */
  launch(ctx: LaunchContext): Promise<void>;
  /** Ends every process `record` names that still provably runs, and what holds them (cgroups); waits until they are gone. Keeps the files. */
  end(record: SandboxRecord): Promise<void>;
  /** Once stopped, waits until its files are at rest (e.g. the kernel let go of its disk). */
  quiesce?(record: SandboxRecord): Promise<void>;
  /** Whether the processes `record` names still run (a cheap, synchronous check). */
  liveness(record: SandboxRecord): Liveness;
  /** The limits its processes ran into. */
  breaches(record: SandboxRecord): Promise<LimitBreach[]>;
  /** Whether its files are there to start again on. */
  hasFiles(record: SandboxRecord): Promise<boolean>;
  /** The log files to keep bounded while it runs. */
  logs(record: SandboxRecord): string[];
}

export interface ProcessSandboxOptions {
  unit: SandboxUnit;
  log: Logger;
  readyTimeoutMs: number;
}

type Phase = "starting" | "running" | "stopping" | "stopped" | "destroyed";

export class ProcessSandbox implements Sandbox {
  readonly agent: Client<typeof AgentService>;
  readonly files: Client<typeof FileService>;
  readonly processes: Client<typeof ProcessService>;
  readonly #o: ProcessSandboxOptions;
  readonly #conn: AgentConnection;
  #record: SandboxRecord;
  #phase: Phase;
  /** Start, stop and destroy, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #destroying: Promise<void> | undefined;
  #logTimer: NodeJS.Timeout | undefined;

  private constructor(record: SandboxRecord, phase: Phase, o: ProcessSandboxOptions) {
    this.#record = record;
    this.#phase = phase;
    this.#o = o;
    this.#conn = new AgentConnection(
      (signal) => {
        const socket = this.#record.agent?.socket;
        if (this.#phase !== "starting" && this.#phase !== "running") return Promise.reject(new PyroError("sandbox_failed", `sandbox ${this.id} is not running (${this.state()})`));
        if (!socket) return Promise.reject(new PyroError("sandbox_failed", `sandbox ${this.id} has no agent socket`));
        return dialUnixSocket(socket)(signal);
      },
      { onFailure: (err) => o.log.warn("agent connection ended", { sandbox: record.id, reason: untrustedText(err.message) }) },
    );
    this.agent = createClient(AgentService, this.#conn.transport);
    this.files = createClient(FileService, this.#conn.transport);
    this.processes = createClient(ProcessService, this.#conn.transport);
  }

  /** Makes a new sandbox from `record` (state "starting") and starts it; on failure nothing of it is left. */
  static async create(record: SandboxRecord, o: ProcessSandboxOptions, signal?: AbortSignal): Promise<ProcessSandbox> {
    const s = new ProcessSandbox(record, "starting", o);
    try {
      if (signal?.aborted) throw new PyroError("cancelled", "sandbox start was cancelled");
      await mkdir(record.dir, { recursive: true, mode: 0o700 });
      // The caller may have written this very record already, to lease on it (leased-sandbox.ts).
      if (!(await lstat(join(record.dir, RECORD_FILE)).catch(() => undefined))) await s.#save({});
      await s.#launch(true, signal);
      return s;
    } catch (err) {
      await s.#teardown().catch((e: unknown) => o.log.warn("cleaning up a sandbox that failed to start failed", { sandbox: record.id, error: e }));
      throw err;
    }
  }

  /**
   * Takes over the sandbox `record` describes. A durable one that still runs must answer
   * its agent's handshake to count as running; anything less is ended and counts as stopped,
   * its files kept. A one-shot one is taken over only to be ended: no handshake.
   */
  static async recover(record: SandboxRecord, o: ProcessSandboxOptions, signal?: AbortSignal): Promise<ProcessSandbox | "gone"> {
    const s = new ProcessSandbox({ ...record, manager: await self() }, "stopped", o);
    const live = o.unit.liveness(record);
    if (live === "all" && record.state === "running" && record.durable) {
      s.#phase = "running";
      try {
        await awaitAgent(s.agent, { timeoutMs: o.readyTimeoutMs, signal, tail: () => "" });
        await s.#save({});
        s.#watchLogs();
        return s;
      } catch (err) {
        o.log.warn("a recovered sandbox's agent did not answer; stopping it", { sandbox: record.id, error: err });
      }
    }
    if (live === "all" && !record.durable) {
      s.#phase = "running"; // the caller ends it
      return s;
    }
    if (record.durable && !(await o.unit.hasFiles(record))) {
      await o.unit.end(record); // whatever still runs of it goes; nothing is left to start again on
      return "gone";
    }
    await s.#end();
    return s;
  }

  get id(): string {
    return this.#record.id;
  }
  get backend(): BackendName {
    return this.#record.backend;
  }
  get environment(): string {
    return this.#record.environment.name;
  }
  get network(): boolean {
    return this.#record.network;
  }
  get durable(): boolean {
    return this.#record.durable;
  }
  get record(): SandboxRecord {
    return this.#record;
  }
  get pid(): number {
    return this.#record.processes.launch?.pid ?? 0;
  }
  get seccomp(): string | undefined {
    return this.#record.seccomp;
  }
  get limits(): LimitsInForce {
    return this.#record.limits ?? unenforcedLimits(this.#record.resources, "the sandbox is not running");
  }

  breaches(): Promise<LimitBreach[]> {
    return this.#o.unit.breaches(this.#record);
  }

  state(): SandboxState {
    if (this.#phase === "destroyed") return "gone";
    if (this.#phase === "running" || this.#phase === "stopping") return this.#o.unit.liveness(this.#record) === "all" ? "running" : "stopped";
    return "stopped";
  }

  alive(): boolean {
    return this.#phase === "running" && this.#destroying === undefined && this.#o.unit.liveness(this.#record) === "all";
  }

  stop(): Promise<void> {
    return this.#serially(async () => {
      if (this.#phase === "destroyed") throw new PyroError("sandbox_failed", `sandbox ${this.id} is gone`);
      if (this.#phase === "stopped") return;
      await this.#end();
      this.#o.log.info("sandbox stopped", { sandbox: this.id });
    });
  }

  start(signal?: AbortSignal): Promise<void> {
    return this.#serially(async () => {
      if (this.#phase === "destroyed") throw new PyroError("sandbox_failed", `sandbox ${this.id} is gone`);
      if (this.#phase === "running" && this.#o.unit.liveness(this.#record) === "all") return;
      // What is left of a launch that died by itself (a cgroup, a helper) goes first.
      await this.#end();
      if (!(await this.#o.unit.hasFiles(this.#record))) throw new PyroError("sandbox_failed", `sandbox ${this.id} has lost its files and cannot start again`);
      try {
        await this.#launch(false, signal);
      } catch (err) {
        await this.#end().catch((e: unknown) => this.#o.log.warn("cleaning up a failed start failed", { sandbox: this.id, error: e }));
        throw err;
      }
    });
  }

  destroy(): Promise<void> {
    this.#destroying ??= this.#serially(async () => {
      if (this.#phase === "destroyed") return;
      await this.#teardown();
      this.#o.log.debug("sandbox destroyed", { sandbox: this.id });
    });
    return this.#destroying;
  }

  /** Runs `op` after every earlier start, stop or destroy. */
  #serially<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #launch(first: boolean, signal?: AbortSignal): Promise<void> {
    this.#phase = "starting";
    this.#conn.reset("the sandbox is starting");
    // A new sandbox's record says so already.
    if (!first) await this.#save({ state: "starting", processes: {}, manager: await self() });
    const sandbox = this;
    await this.#o.unit.launch({
      get record() {
        return sandbox.#record;
      },
      first,
      signal,
      save: (patch) => this.#save(patch),
      awaitAgent: (a) => awaitAgent(this.agent, { ...a, signal, timeoutMs: this.#o.readyTimeoutMs }),
    });
    await this.#save({ state: "running" });
    this.#phase = "running";
    this.#watchLogs();
  }

  /** Ends the processes (keeping the files) and records the sandbox as stopped. */
  async #end(): Promise<void> {
    this.#phase = "stopping";
    this.#conn.reset();
    clearInterval(this.#logTimer);
    await this.#o.unit.end(this.#record);
    if (this.durable) await this.#o.unit.quiesce?.(this.#record);
    this.#phase = "stopped";
    const { cgroups: _c, ...rest } = this.#record;
    this.#record = { ...rest, state: "stopped", processes: {} };
    await writeSandboxRecord(this.#record);
  }

  /** Ends everything and removes the directory, record included. */
  async #teardown(): Promise<void> {
    this.#conn.close();
    clearInterval(this.#logTimer);
    this.#phase = "stopping";
    await this.#o.unit.end(this.#record);
    this.#phase = "destroyed";
    await removeTree(this.#record.dir, this.#o.log);
  }

  async #save(patch: Partial<SandboxRecord>): Promise<void> {
    this.#record = { ...this.#record, ...patch };
    await writeSandboxRecord(this.#record);
  }

  #watchLogs(): void {
    clearInterval(this.#logTimer);
    const logs = this.#o.unit.logs(this.#record);
    if (logs.length === 0) return;
    this.#logTimer = setInterval(() => logs.forEach((l) => capLog(l)), LOG_CHECK_MS);
    this.#logTimer.unref();
  }
}
