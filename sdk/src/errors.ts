/**
 * The one error table: every failure pyro reports carries one of these stable codes, on
 * every surface (CLI, SDK, MCP, gRPC). The gRPC code is how the code travels on the wire;
 * the stable code itself travels as a `pyro.common.v1.ErrorDetail`.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ErrorDetailSchema } from "../../proto/gen/pyro/common/v1/error_pb.js";

interface ErrorSpec {
  /** How the code travels as a gRPC status. */
  grpc: Code;
  /**
   * Exit status of the `pyro` CLI for this error: 125 when pyro itself failed (as container
   * runtimes do; commands rarely use it), so a script can tell that from the command's own
   * status; 124 (timeout), 127 (command not found) and 130 (interrupted) keep their shell meanings.
   */
  exit: number;
  /** Default next step when the thrower gives none. */
  hint: string;
}

export const ERRORS = {
  invalid_argument: { grpc: Code.InvalidArgument, exit: 125, hint: "run the command with --help to see its arguments" },
  invalid_configuration: { grpc: Code.FailedPrecondition, exit: 125, hint: "fix the PYRO_* environment variable or flag the message names" },
  environment_not_found: { grpc: Code.NotFound, exit: 125, hint: "run `pyro env list` to see the environments" },
  environment_build_failed: { grpc: Code.Unavailable, exit: 125, hint: "check that the Debian mirror is reachable (PYRO_DEBIAN_MIRROR), then run `pyro env pull` again" },
  environment_corrupt: { grpc: Code.DataLoss, exit: 125, hint: "run `pyro env pull --force` to rebuild it" },
  backend_unavailable: { grpc: Code.FailedPrecondition, exit: 125, hint: "run `pyro doctor` to see what the backend needs" },
  host_compat_not_allowed: { grpc: Code.PermissionDenied, exit: 125, hint: "the host backend has no isolation; pass --allow-host-compat to use it anyway" },
  sandbox_start_failed: { grpc: Code.Unavailable, exit: 125, hint: "run `pyro doctor`, and see the manager log for the cause" },
  // The sandbox or its agent failed during the call (died, or broke the agent protocol).
  sandbox_failed: { grpc: Code.Aborted, exit: 125, hint: "run it again (every run gets a fresh sandbox); if it fails again, see the manager log for the cause" },
  command_not_found: { grpc: Code.NotFound, exit: 127, hint: "check the command name, or use an environment that has it (e.g. debian:12-build)" },
  timeout: { grpc: Code.DeadlineExceeded, exit: 124, hint: "raise --timeout-seconds, or make the command finish sooner" },
  // A command that ran into a limit of its sandbox: 137 as for a process the kernel killed, 125 otherwise.
  out_of_memory: { grpc: Code.ResourceExhausted, exit: 137, hint: "raise --mem-mib, or make the command use less memory" },
  disk_full: { grpc: Code.ResourceExhausted, exit: 125, hint: "raise --disk-mib, or make the command write less" },
  too_many_processes: { grpc: Code.ResourceExhausted, exit: 125, hint: "make the command start fewer processes or threads at once" },
  // Workspaces, their files and patches.
  workspace_not_found: { grpc: Code.NotFound, exit: 125, hint: "run `pyro workspace list` to see the workspaces" },
  workspace_name_taken: { grpc: Code.AlreadyExists, exit: 125, hint: "choose another name, or delete or rename the workspace that has it" },
  workspace_not_running: { grpc: Code.FailedPrecondition, exit: 125, hint: "start it first with `pyro workspace start`" },
  path_outside_workspace: { grpc: Code.PermissionDenied, exit: 125, hint: "use a path under /workspace (relative paths start there); symlinks may not lead out of it" },
  file_not_found: { grpc: Code.NotFound, exit: 125, hint: "list the directory with `pyro workspace file list` to see what is there" },
  not_text: { grpc: Code.InvalidArgument, exit: 125, hint: "only UTF-8 text is read and written this way; use `pyro workspace export` for binary files" },
  too_large: { grpc: Code.ResourceExhausted, exit: 125, hint: "split it into smaller parts, or move it as an archive with `pyro workspace sync push` or `export`" },
  patch_invalid: { grpc: Code.InvalidArgument, exit: 125, hint: "give a unified diff as `git diff` or `diff -u` write it" },
  patch_conflict: { grpc: Code.FailedPrecondition, exit: 125, hint: "read the file again and make the patch against its current content, or run `pyro workspace reset` to go back to the baseline" },
  snapshot_not_found: { grpc: Code.NotFound, exit: 125, hint: "run `pyro workspace snapshot list` to see the snapshots" },
  snapshot_exists: { grpc: Code.AlreadyExists, exit: 125, hint: "choose another name, or delete the snapshot first" },
  unsafe_archive: { grpc: Code.InvalidArgument, exit: 125, hint: "archives may hold only files, directories and symlinks that stay inside their root (no `..`, absolute names or devices)" },
  manager_unavailable: { grpc: Code.Unavailable, exit: 125, hint: "see the manager log, or start it by hand with `pyro manager serve`" },
  manager_already_running: { grpc: Code.AlreadyExists, exit: 125, hint: "a manager already serves this socket; clients use it as it is (stop it first to start another)" },
  cancelled: { grpc: Code.Canceled, exit: 130, hint: "" },
  internal: { grpc: Code.Internal, exit: 125, hint: "this is a bug in pyro; run with --debug and report it with the manager log" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERRORS, value);
}

/** The one error type of pyro: a stable code, a one-line message, and the next step. */
export class PyroError extends Error {
  override readonly name = "PyroError";
  readonly code: ErrorCode;
  readonly hint: string;
  /** Extra structured data, e.g. the partial output of a command that timed out. */
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; data?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint ?? ERRORS[code].hint;
    this.data = options.data ?? {};
  }

  /** Exit status the CLI uses for this error. */
  get exitCode(): number {
    return ERRORS[this.code].exit;
  }

  /** One line for people: "code: message (next: hint)". */
  toLine(): string {
    return this.hint ? `${this.code}: ${this.message} (next: ${this.hint})` : `${this.code}: ${this.message}`;
  }

  toJSON(): { code: ErrorCode; message: string; hint: string } {
    return { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Turns any thrown value into the ConnectError that leaves a server. Unknown errors become `internal` without their text. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const pyro = err instanceof PyroError ? err : new PyroError("internal", "internal error in pyro");
  const metadata = new Headers({ "pyro-error-code": pyro.code });
  return new ConnectError(pyro.message, ERRORS[pyro.code].grpc, metadata, [
    { desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { code: pyro.code, hint: pyro.hint }) },
  ]);
}

/** Rebuilds the typed error a server sent (or maps a transport failure). */
export function fromConnectError(err: unknown): PyroError {
  if (err instanceof PyroError) return err;
  const ce = ConnectError.from(err);
  const [detail] = ce.findDetails(ErrorDetailSchema);
  if (detail && isErrorCode(detail.code)) {
    return new PyroError(detail.code, ce.rawMessage, { hint: detail.hint, cause: err });
  }
  if (ce.code === Code.Canceled) return new PyroError("cancelled", ce.rawMessage, { cause: err });
  if (ce.code === Code.DeadlineExceeded) return new PyroError("timeout", ce.rawMessage, { cause: err });
  if (ce.code === Code.Unavailable) return new PyroError("manager_unavailable", ce.rawMessage, { cause: err });
  return new PyroError("internal", ce.rawMessage, { cause: err });
}
