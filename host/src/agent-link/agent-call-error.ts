/**
 * What a failed call to a sandbox's agent becomes for the client. The agent shares its
 * sandbox with the command, so its errors are claims, not facts: only the codes an agent
 * has reason to send pass (a missing program, an argument it refuses, a missing file, a
 * path outside /workspace), and the message and hint the client sees are the manager's,
 * with the agent's words cleaned and cut where they help (why a path was refused). Anything
 * else (another code, a broken or flooded connection, a broken protocol, a dead agent) is
 * `sandbox_failed`, and its cause goes to the log, truncated.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../../proto/gen/pyro/common/v1/error_pb.js";
import { ERRORS, isErrorCode, PyroError, type ErrorCode } from "../../../sdk/src/errors.js";
import type { Logger } from "../logger.js";
import { AgentProtocolError } from "./exec-event-guard.js";
import { untrustedText } from "./untrusted-text.js";

export interface AgentCallContext {
  sandbox: string;
  /** The program the caller asked for (argv[0], or the shell): the manager names it, not the agent. */
  program: string;
  log: Logger;
}

/** The guest codes that pass, each worded by the manager. */
const ALLOWED: Record<string, (ctx: AgentCallContext, guestText: string) => PyroError> = {
  command_not_found: (ctx) =>
    new PyroError("command_not_found", `cannot run ${JSON.stringify(untrustedText(ctx.program))} in the sandbox: it was not found or is not executable`),
  invalid_argument: (_ctx, text) =>
    new PyroError("invalid_argument", `the sandbox refused the command: ${untrustedText(text)}`, {
      hint: "check the working directory (--cwd), the environment variable names and the arguments",
    }),
};

export interface AgentFileCallContext {
  sandbox: string;
  /** What the caller asked, in the manager's words, e.g. `read "src/a.txt"`. */
  operation: string;
  log: Logger;
}

/** How much of an agent's reason for refusing a file call the client sees. */
const FILE_REASON_MAX_CHARS = 300;

function fileError(code: ErrorCode, hint?: string) {
  return (ctx: AgentFileCallContext, text: string) =>
    new PyroError(code, `cannot ${ctx.operation}: ${untrustedText(text, FILE_REASON_MAX_CHARS)}`, hint === undefined ? {} : { hint });
}

/** The guest codes that pass for file calls: the file tools' own codes, and a full disk. */
const FILE_ALLOWED: Record<string, (ctx: AgentFileCallContext, guestText: string) => PyroError> = {
  file_not_found: fileError("file_not_found"),
  path_outside_workspace: fileError("path_outside_workspace"),
  not_text: fileError("not_text"),
  too_large: fileError("too_large"),
  unsafe_archive: fileError("unsafe_archive"),
  disk_full: fileError("disk_full", "free space in the workspace, or create it with a larger --disk-mib"),
  invalid_argument: fileError("invalid_argument", "check the path (a file or directory of the right kind under /workspace) and, for an import, that the archive is a tar or tar.gz"),
};

function sandboxFailed(ctx: { sandbox: string }, during: string, what: string, cause: unknown): PyroError {
  return new PyroError("sandbox_failed", `sandbox ${ctx.sandbox} failed during ${during}: ${what}`, { cause });
}

/** Maps any error of an agent call to the error the client sees, logging what the agent did. */
export function agentCallError(err: unknown, ctx: AgentCallContext): PyroError {
  return translate(err, ctx, ALLOWED, "the command");
}

/** Maps any error of a file call (guest FileService) to the error the client sees, logging what the agent did. */
export function agentFileCallError(err: unknown, ctx: AgentFileCallContext): PyroError {
  return translate(err, ctx, FILE_ALLOWED, "a file operation");
}

function translate<C extends { sandbox: string; log: Logger }>(
  err: unknown,
  ctx: C,
  table: Record<string, (ctx: C, guestText: string) => PyroError>,
  during: string,
): PyroError {
  if (err instanceof PyroError) return err; // the manager's own (e.g. a timeout it reports)
  if (err instanceof AgentProtocolError) {
    ctx.log.warn("agent broke the protocol", { sandbox: ctx.sandbox, reason: err.reason, event: err.detail });
    return sandboxFailed(ctx, during, `its agent broke the protocol (${err.reason})`, err);
  }
  if (err instanceof ConnectError) {
    const [detail] = err.findDetails(ErrorDetailSchema);
    const code = detail?.code ?? "";
    const allowed = Object.hasOwn(table, code) && isErrorCode(code) && err.code === ERRORS[code].grpc ? table[code] : undefined;
    if (allowed) return allowed(ctx, err.rawMessage);
    ctx.log.warn("agent call failed", {
      sandbox: ctx.sandbox,
      grpcCode: Code[err.code] ?? err.code,
      guestCode: detail ? untrustedText(detail.code, 64) : undefined,
      message: untrustedText(err.rawMessage),
    });
    const what = err.code === Code.ResourceExhausted ? "its agent sent more than the manager accepts" : "its agent failed, or the connection to it broke";
    return sandboxFailed(ctx, during, what, err);
  }
  ctx.log.warn("agent call failed", { sandbox: ctx.sandbox, error: untrustedText(err instanceof Error ? err.message : String(err)) });
  return sandboxFailed(ctx, during, "its agent failed", err);
}
