/**
 * The gate on a command's event stream from a sandbox's agent (AgentService.Exec, or
 * ProcessService.Start). The agent shares its sandbox with the command, so every event is
 * checked before the manager uses it: the order (one `started` first, then output, then one
 * `exited`), the size of each output chunk, its offset (a Start stream sends every byte from
 * 0, so each chunk starts where the last one of its stream ended), and every field of
 * `started` and `exited` (a pid the kernel could give, a table id, an exit status a process
 * can have, a signal this host knows, a duration no longer than the call).
 * A violation is an `AgentProtocolError`; the call fails with `sandbox_failed`.
 */
import { constants } from "node:os";
import type { ExecResponse } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import type { ProcessEvent } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import { untrustedBytes, untrustedText } from "./untrusted-text.js";

/** The largest output chunk an agent may send (it sends at most 1 MiB at a time). */
export const OUTPUT_CHUNK_MAX_BYTES = 1 << 20;
/** Linux's ceiling for pid_max (PID_MAX_LIMIT). */
const PID_MAX = 1 << 22;
/** How far an agent's clock may run ahead of the manager's over one command. */
const DURATION_SLACK_MS = 1_000;
const SIGNALS: ReadonlySet<string> = new Set(Object.keys(constants.signals));

/** An agent broke the exec protocol. `reason` is written by the manager; `detail` describes what came, truncated, for the log. */
export class AgentProtocolError extends Error {
  override readonly name = "AgentProtocolError";
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`the sandbox's agent broke the protocol: ${reason}`);
  }
}

/** An event that passed the guard. */
export type CheckedExecEvent = Exclude<ExecResponse["event"], { case: undefined }>;
/** A Start stream's event that passed the guard. */
export type CheckedProcessEvent = Exclude<ProcessEvent["event"], { case: undefined }>;

/** The largest process id a table may give (ids count up from 1; 2^53 keeps them exact as numbers). */
const PROCESS_ID_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** A short, safe description of an event, whatever its fields hold. */
export function describeEvent(event: ExecResponse["event"] | ProcessEvent["event"]): string {
  if (event.case === undefined) return "an event with no known kind";
  const fields = Object.entries(event.value)
    .filter(([k]) => k !== "$typeName" && k !== "$unknown")
    .map(([k, v]) => {
      if (typeof v === "string") return `${k}: ${JSON.stringify(untrustedText(v, 64))}`;
      if (v instanceof Uint8Array) return `${k}: ${untrustedBytes(v)}`;
      return `${k}: ${String(v)}`;
    });
  return `${event.case} {${fields.join(", ")}}`;
}

export interface ExecEventGuardOptions {
  /**
   * For a ProcessService.Connect stream: the offsets it asked to read from. Its output may
   * then start later than asked (what the guest no longer keeps), but never goes back.
   */
  resumeFrom?: { stdout: bigint; stderr: bigint };
}

export class ExecEventGuard {
  #state: "waiting" | "running" | "exited" = "waiting";
  readonly #since = performance.now();
  /** Where the next output of each stream (OutputStream value) starts, for the offsets of a process stream. */
  readonly #seen = new Map<OutputStream, bigint>();
  readonly #gaps: boolean;

  constructor(o: ExecEventGuardOptions = {}) {
    this.#gaps = o.resumeFrom !== undefined;
    if (o.resumeFrom) {
      this.#seen.set(OutputStream.STDOUT, o.resumeFrom.stdout);
      this.#seen.set(OutputStream.STDERR, o.resumeFrom.stderr);
    }
  }

  /** Returns the event of an Exec stream when it may come now and its fields are sane; throws AgentProtocolError when not. */
  check(res: ExecResponse): CheckedExecEvent {
    const e = res.event;
    const fail = this.#failer(e);
    switch (e.case) {
      case "started":
        this.#started(e.value.pid, fail);
        return e;
      case "output":
        this.#output(e.value.stream, e.value.data, fail);
        return e;
      case "exited":
        this.#exited(e.value, fail);
        return e;
      default:
        return this.#unknown(fail);
    }
  }

  /**
   * The same for a ProcessService stream (Start, or Connect with `resumeFrom`), whose started
   * names a table id and whose output carries offsets: a Start stream's run on from 0 without
   * a gap; a Connect stream's may skip ahead, never back.
   */
  checkProcessEvent(ev: ProcessEvent | undefined): CheckedProcessEvent {
    const e = ev?.event ?? { case: undefined };
    const fail = this.#failer(e);
    switch (e.case) {
      case "started":
        if (e.value.processId < 1n || e.value.processId > PROCESS_ID_MAX) fail("started has an impossible process id");
        this.#started(e.value.pid, fail);
        return e;
      case "output": {
        this.#output(e.value.stream, e.value.data, fail);
        const seen = this.#seen.get(e.value.stream) ?? 0n;
        if (this.#gaps ? e.value.offset < seen : e.value.offset !== seen) fail("an output chunk does not start where the last one ended");
        this.#seen.set(e.value.stream, e.value.offset + BigInt(e.value.data.length));
        return e;
      }
      case "exited":
        this.#exited(e.value, fail);
        return e;
      default:
        return this.#unknown(fail);
    }
  }

  /** The stream ended: throws unless it ended with the exit status. */
  end(): void {
    if (this.#state === "waiting") throw new AgentProtocolError("the stream ended before the command started", "no events");
    if (this.#state === "running") throw new AgentProtocolError("the stream ended without an exit status", "no exited event");
  }

  #failer(e: ExecResponse["event"] | ProcessEvent["event"]): (reason: string) => never {
    const fail = (reason: string): never => {
      throw new AgentProtocolError(reason, describeEvent(e));
    };
    if (this.#state === "exited") fail("an event came after the exit status");
    return fail;
  }

  #started(pid: number, fail: (reason: string) => never): void {
    if (this.#state !== "waiting") fail("a second started event");
    if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX) fail("started has an impossible pid");
    this.#state = "running";
  }

  #output(stream: OutputStream, data: Uint8Array, fail: (reason: string) => never): void {
    if (this.#state !== "running") fail("output came before started");
    if (stream !== OutputStream.STDOUT && stream !== OutputStream.STDERR) fail("output names no known stream");
    if (data.length > OUTPUT_CHUNK_MAX_BYTES) fail(`an output chunk is over ${OUTPUT_CHUNK_MAX_BYTES} bytes`);
  }

  #exited(x: { exitCode: number; signal: string; durationMs: bigint }, fail: (reason: string) => never): void {
    if (this.#state !== "running") fail("exited came before started");
    const { exitCode, signal, durationMs } = x;
    // Exactly one of the two: a status 0–255 from exit(), or -1 and the signal that ended it.
    if (signal === "" ? !(Number.isInteger(exitCode) && exitCode >= 0 && exitCode <= 255) : exitCode !== -1) fail("exited has an impossible exit status");
    if (signal !== "" && !SIGNALS.has(signal)) fail("exited names an unknown signal");
    if (durationMs > BigInt(Math.ceil(performance.now() - this.#since) + DURATION_SLACK_MS)) fail("exited reports a duration longer than the call");
    this.#state = "exited";
  }

  #unknown(fail: (reason: string) => never): never {
    return fail("an event of no known kind");
  }
}
