/** One command in a workspace's sandbox, journaled: checked here, run by the exec pipeline. */
import { PyroError } from "../../../sdk/src/errors.js";
import type { Sandbox } from "../backends/backend.js";
import { execInSandbox } from "../exec/exec-pipeline.js";
import type { Logger } from "../logger.js";
import type { JournalEntry } from "./journal.js";
import { WORKSPACE_BOUNDS, WORKSPACE_DEFAULTS, workspaceCwd } from "./workspace-spec.js";

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
 * Runs `req` in `sandbox` through the manager's one exec pipeline (host/src/exec), yielding
 * started and output events, and returns the journal entry (the caller appends it and reports
 * the exit). A limit the command ran into is an error, as for a run; a timeout is a result
 * (`timedOut`).
 */
export async function* execInWorkspace(sandbox: Sandbox, req: ExecRequest, sequence: number, signal: AbortSignal, log: Logger): AsyncGenerator<WorkspaceExecEvent, JournalEntry> {
  const { timeoutSeconds, cwd } = validateExec(req);
  const startedAt = new Date().toISOString();
  const argv = req.argv.length > 0 ? req.argv : ["/bin/sh", "-c", req.shellCommand];
  const events = execInSandbox(sandbox, { argv: req.argv, shellCommand: req.shellCommand, cwd, env: req.env, stdin: req.stdin }, { timeoutMs: timeoutSeconds * 1000, signal, log });
  for (;;) {
    const next = await events.next();
    if (next.done) {
      const r = next.value;
      return {
        sequence,
        argv,
        cwd: cwd === "" ? "/workspace" : `/workspace/${cwd}`,
        startedAt,
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut,
        durationMs: r.durationMs,
        stdout: r.stdout,
        stderr: r.stderr,
        stdoutTruncated: r.stdoutTruncated,
        stderrTruncated: r.stderrTruncated,
      };
    }
    const e = next.value;
    if (e.type === "started") yield { type: "started", sequence, pid: e.pid, executionMode: sandbox.backend };
    else if (e.type === "output") yield { type: "output", stream: e.stream, data: e.data };
  }
}
