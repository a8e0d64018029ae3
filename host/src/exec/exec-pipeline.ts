/**
 * The one way the manager runs a command in a sandbox. `pyro run`, workspace exec, and later
 * shells and services all go through it, stage by stage:
 *
 *   guest events (a GuestExecSource: the agent call, each event through the guard)
 *   → guest-error translation (agent-call-error.ts: only allow-listed guest codes pass)
 *   → watchdog (the host's backstop when the agent never reports the end)
 *   → redaction (a Redactor; none until secrets exist)
 *   → cap (the first 1 MiB of each stream kept for the result, with truncated flags)
 *   → journal (a callback the workspace layer supplies)
 *   → typed domain events (types.ts) for the caller, and the result.
 *
 * Use `execInSandbox` to consume it as an async generator (each event is awaited by its
 * consumer, so a slow reader slows the command, not the manager's memory), or
 * `runInSandbox` for a result with an optional event callback.
 *
 * Errors are PyroErrors with stable codes: `timeout` only when the agent never reported
 * (a command its own timeout ended returns a result with `timedOut`), `cancelled` when the
 * caller's signal aborted, a limit's code (`out_of_memory`, …) when the sandbox ran into
 * one, the guest's allow-listed codes (`command_not_found`, `invalid_argument`), and
 * `sandbox_failed` for anything else the agent or its connection did.
 */
import { PyroError } from "../../../sdk/src/errors.js";
import { agentCallError } from "../agent-link/agent-call-error.js";
import type { Sandbox } from "../backends/backend.js";
import { breachError } from "../backends/resources.js";
import type { Logger } from "../logger.js";
import { Watchdog } from "../watchdog.js";
import { agentExecSource, type GuestExecSource } from "./guest-sources.js";
import { OUTPUT_CAP_BYTES, OutputCap } from "./output-cap.js";
import { noRedaction, type ExecCommand, type ExecEvent, type ExecJournal, type ExecResult, type Redactor } from "./types.js";

/** How long past its timeout (and past the agent's last event) the host waits for the agent to report, before it gives up on it. */
export const WATCHDOG_GRACE_MS = 10_000;

/** What the pipeline needs of a sandbox. */
export type ExecSandbox = Pick<Sandbox, "id" | "backend" | "agent" | "limits" | "breaches">;

export interface ExecOptions {
  /** The command's timeout: the guest kills its process group then. */
  timeoutMs: number;
  /**
   * However busy the agent is, the watchdog gives up on it this long after the start (e.g. the
   * sandbox's TTL plus a grace period); default: the timeout plus the grace period.
   */
  hardLimitMs?: number;
  /** The caller's cancellation. */
  signal: AbortSignal;
  log: Logger;
  /** The guest call that runs the command; default: the sandbox agent's Exec. */
  source?: GuestExecSource;
  /** Default: none. */
  redact?: Redactor;
  /** Told of the start and the end of the command. */
  journal?: ExecJournal;
  /** Bytes of each stream the result keeps; default 1 MiB. */
  outputLimitBytes?: number;
  /** How long the watchdog waits past the timeout and past the last event; default WATCHDOG_GRACE_MS. */
  watchdogGraceMs?: number;
}

/**
 * Runs `command` in `sandbox` and yields its events: started, output…, exited (the last,
 * carrying the result, which is also the generator's return value). Throws a PyroError.
 */
export async function* execInSandbox(sandbox: ExecSandbox, command: ExecCommand, o: ExecOptions): AsyncGenerator<ExecEvent, ExecResult> {
  const source = o.source ?? agentExecSource(sandbox.agent);
  const redact = o.redact ?? noRedaction;
  const timeoutSeconds = Math.ceil(o.timeoutMs / 1000);
  // If the agent never reports, the call is ended here. Output still on its way to a slow
  // reader is not a hang; the hard limit bounds it all.
  const grace = o.watchdogGraceMs ?? WATCHDOG_GRACE_MS;
  const watchdog = new Watchdog(o.timeoutMs, grace, o.hardLimitMs ?? o.timeoutMs + grace);
  const abort = AbortSignal.any([o.signal, watchdog.signal]);
  const cap = { stdout: new OutputCap(o.outputLimitBytes ?? OUTPUT_CAP_BYTES), stderr: new OutputCap(o.outputLimitBytes ?? OUTPUT_CAP_BYTES) };
  let started: { pid: number; processId?: bigint } | undefined;
  let journaled = false;
  const finish = async (e: { result: ExecResult } | { error: Error }) => {
    if (!started || journaled || !o.journal) return;
    journaled = true;
    await o.journal.finished(e as Parameters<ExecJournal["finished"]>[0]);
  };
  try {
    for await (const e of source(command, { timeoutMs: o.timeoutMs, signal: abort })) {
      watchdog.activity();
      if (e.case === "started") {
        started = { pid: e.pid, ...(e.processId !== undefined && { processId: e.processId }) };
        await o.journal?.started?.(started);
        yield { type: "started", ...started };
      } else if (e.case === "output") {
        const data = redact(e.stream, e.data);
        cap[e.stream].push(data);
        yield { type: "output", stream: e.stream, data };
      } else {
        const result: ExecResult = {
          ...started!,
          exitCode: e.exitCode,
          signal: e.signal,
          durationMs: e.durationMs,
          timedOut: e.timedOut,
          stdout: cap.stdout.bytes(),
          stderr: cap.stderr.bytes(),
          stdoutTruncated: cap.stdout.truncated,
          stderrTruncated: cap.stderr.truncated,
        };
        // A command its own timeout ended is a result; one that ran into a limit of its sandbox is that limit's error.
        const breach = e.timedOut ? undefined : await breachError(sandbox, e);
        if (breach) throw breach;
        await finish({ result });
        yield { type: "exited", result };
        return result;
      }
    }
    // Sources end only after the exit (or throw); this is a bug in a source.
    throw new PyroError("internal", "the guest's event stream ended without an exit status");
  } catch (err) {
    const error = failure(err, sandbox, command, o, watchdog, timeoutSeconds);
    await finish({ error }).catch((jerr: unknown) => o.log.warn("exec journal failed", { sandbox: sandbox.id, error: jerr }));
    throw error;
  } finally {
    watchdog.stop();
    // The consumer stopped reading before the end (the guest kills the command): the journal still hears of it.
    if (started && !journaled) await finish({ error: new PyroError("cancelled", "the command's reader went away") }).catch(() => {});
  }
}

/** The error the caller gets for whatever ended the pipeline early. */
function failure(err: unknown, sandbox: ExecSandbox, command: ExecCommand, o: ExecOptions, watchdog: Watchdog, timeoutSeconds: number): PyroError {
  if (watchdog.signal.aborted) {
    return new PyroError("timeout", `the command did not finish within ${timeoutSeconds}s and the sandbox's agent did not report its end (${sandbox.backend} backend)`, {
      data: { execution_mode: sandbox.backend, sandbox_id: sandbox.id },
    });
  }
  // Only the caller's own interrupt is `cancelled`; an agent that dies or breaks the link is `sandbox_failed`.
  if (o.signal.aborted) return new PyroError("cancelled", "the command was cancelled");
  return agentCallError(err, { sandbox: sandbox.id, program: command.argv[0] ?? "/bin/sh", log: o.log });
}

/** Runs `command` in `sandbox` to its end and returns the result; `onEvent` sees each event first (and may slow the command by taking its time). */
export async function runInSandbox(
  sandbox: ExecSandbox,
  command: ExecCommand,
  o: ExecOptions & { onEvent?: (e: ExecEvent) => void | Promise<void> },
): Promise<ExecResult> {
  const events = execInSandbox(sandbox, command, o);
  for (;;) {
    const next = await events.next();
    if (next.done) return next.value;
    await o.onEvent?.(next.value);
  }
}
