/**
 * The exec pipeline's domain types: what a caller asks a sandbox to run, and what comes
 * back. Plain TypeScript; protobuf stays at the edges (the guest sources, the services).
 */

export type OutputStreamName = "stdout" | "stderr";

/** One command, as the guest runs it. */
export interface ExecCommand {
  /** Program and arguments; exactly one of argv and shellCommand is given. */
  argv: string[];
  /** A line for /bin/sh -c; "" when argv is given. */
  shellCommand: string;
  /** Working directory in the sandbox; "" means the workspace. */
  cwd: string;
  env: Record<string, string>;
  /** Bytes for standard input, which is then closed; empty means none. */
  stdin: Uint8Array;
}

/** An event from the guest, after the guard: field by field, nothing else the agent sent. */
export type GuestEvent =
  | { case: "started"; pid: number; processId?: bigint }
  | { case: "output"; stream: OutputStreamName; data: Uint8Array }
  | { case: "exited"; exitCode: number; signal: string; durationMs: number; timedOut: boolean };

/** How a command ended, with its output as kept (the first `outputLimitBytes` of each stream). */
export interface ExecResult {
  pid: number;
  /** The guest's process table id, when the command ran through ProcessService. */
  processId?: bigint;
  /** 0–255, or -1 when a signal ended it. */
  exitCode: number;
  /** The signal that ended it ("SIGKILL"), or "". */
  signal: string;
  durationMs: number;
  /** True when its timeout ended it (its whole process group was killed). */
  timedOut: boolean;
  stdout: Uint8Array;
  stderr: Uint8Array;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** What the pipeline tells its caller, in order: started, output…, exited (whose result is also what the pipeline returns). */
export type ExecEvent =
  | { type: "started"; pid: number; processId?: bigint }
  | { type: "output"; stream: OutputStreamName; data: Uint8Array }
  | { type: "exited"; result: ExecResult };

/**
 * Rewrites output before anyone sees it (secrets become "[REDACTED]"). Called per chunk in
 * order; a redactor that must see across chunk edges keeps its own state.
 */
export type Redactor = (stream: OutputStreamName, data: Uint8Array) => Uint8Array;

/** Leaves output as it is: the pipeline's redaction slot until secrets exist. */
export const noRedaction: Redactor = (_stream, data) => data;

/** What the workspace layer records of each command (its journal). */
export interface ExecJournal {
  /** The command started in the guest. */
  started?(e: { pid: number; processId?: bigint }): void | Promise<void>;
  /** The command ended: with its result, or with the error the caller gets. Called exactly once per started command. */
  finished(e: { result: ExecResult; error?: undefined } | { result?: undefined; error: Error }): void | Promise<void>;
}
