/**
 * One command in a workspace's sandbox: events from the agent pass the exec-event guard,
 * a watchdog ends a command whose agent never reports, and each stream's first 1 MiB is kept
 * for the journal while everything streams on to the caller.
 */
import { OutputStream } from "../../../proto/gen/pyro/common/v1/exec_pb.js";
import { CappedOutput } from "../../../sdk/src/capped-output.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { agentCallError } from "../agent-link/agent-call-error.js";
import { ExecEventGuard } from "../agent-link/exec-event-guard.js";
import type { Sandbox } from "../backends/backend.js";
import { breachError } from "../backends/resources.js";
import type { Logger } from "../logger.js";
import { Watchdog } from "../watchdog.js";
import type { JournalEntry } from "./journal.js";
import { WORKSPACE_BOUNDS, WORKSPACE_DEFAULTS, workspaceCwd } from "./workspace-spec.js";

const WATCHDOG_GRACE_MS = 10_000;

export interface ExecRequest {
  argv: string[];
  shellCommand: string;
  cwd: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  stdin: Uint8Array;
}

export type WorkspaceExecEvent =
  | { type: "started"; sequence: number; pid: number; executionMode: string }
  | { type: "output"; stream: "stdout" | "stderr"; data: Uint8Array }
  | { type: "exited"; sequence: number; exitCode: number; signal: string; durationMs: number; timedOut: boolean; stdoutTruncated: boolean; stderrTruncated: boolean };

function check(cond: boolean, message: string): void {
  if (!cond) throw new PyroError("invalid_argument", message);
}

/** Checks a command request; returns its timeout and working directory. */
export function validateExec(req: ExecRequest): { timeoutSeconds: number; cwd: string } {
  check((req.argv.length > 0) !== (req.shellCommand !== ""), "give a command: either argv or shell_command");
  check(req.argv.length === 0 || req.argv[0] !== "", "the command's program name is empty");
  const timeoutSeconds = req.timeoutSeconds || WORKSPACE_DEFAULTS.timeoutSeconds;
  check(timeoutSeconds <= WORKSPACE_BOUNDS.timeoutSeconds, `timeout_seconds must be at most ${WORKSPACE_BOUNDS.timeoutSeconds}`);
  return { timeoutSeconds, cwd: workspaceCwd(req.cwd) };
}

/**
 * Runs `req` in `sandbox`, yielding started and output events, and returns the journal entry
 * (the caller appends it and reports the exit). A limit the command ran into is an error, as
 * for a run; a timeout is a result (`timedOut`).
 */
export async function* execInWorkspace(sandbox: Sandbox, req: ExecRequest, sequence: number, signal: AbortSignal, log: Logger): AsyncGenerator<WorkspaceExecEvent, JournalEntry> {
  const { timeoutSeconds, cwd } = validateExec(req);
  const startedAt = new Date().toISOString();
  const watchdog = new Watchdog(timeoutSeconds * 1000, WATCHDOG_GRACE_MS, timeoutSeconds * 1000 + 6 * WATCHDOG_GRACE_MS);
  const abort = AbortSignal.any([signal, watchdog.signal]);
  const guard = new ExecEventGuard();
  const out = { stdout: new CappedOutput(), stderr: new CappedOutput() };
  const argv = req.argv.length > 0 ? req.argv : ["/bin/sh", "-c", req.shellCommand];
  try {
    const stream = sandbox.agent.exec(
      { argv: req.argv, shellCommand: req.shellCommand, cwd, env: req.env, stdin: req.stdin, timeoutMs: BigInt(timeoutSeconds * 1000) },
      { signal: abort },
    );
    for await (const res of stream) {
      const e = guard.check(res);
      watchdog.activity();
      if (e.case === "started") {
        yield { type: "started", sequence, pid: e.value.pid, executionMode: sandbox.backend };
      } else if (e.case === "output") {
        const name = e.value.stream === OutputStream.STDERR ? "stderr" : "stdout";
        out[name].push(e.value.data);
        yield { type: "output", stream: name, data: e.value.data };
      } else {
        if (!e.value.timedOut) {
          const breach = await breachError(sandbox, e.value);
          if (breach) throw breach;
        }
        return {
          sequence,
          argv,
          cwd,
          exitCode: e.value.exitCode,
          signal: e.value.signal,
          timedOut: e.value.timedOut,
          startedAt,
          durationMs: Number(e.value.durationMs),
          stdout: out.stdout.bytes(),
          stderr: out.stderr.bytes(),
          stdoutTruncated: out.stdout.truncated,
          stderrTruncated: out.stderr.truncated,
        };
      }
    }
    guard.end();
    throw new PyroError("sandbox_failed", "the agent ended the command's stream without its exit status");
  } catch (err) {
    if (err instanceof PyroError) throw err;
    if (watchdog.signal.aborted) throw new PyroError("timeout", `the command did not finish within ${timeoutSeconds}s and its agent did not report (${sandbox.backend} backend)`);
    if (signal.aborted) throw new PyroError("cancelled", "the command was cancelled; it was killed");
    throw agentCallError(err, { sandbox: sandbox.id, program: argv[0] ?? "/bin/sh", log });
  } finally {
    watchdog.stop();
  }
}
