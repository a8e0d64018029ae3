/**
 * What a failed call to a sandbox's agent becomes for the client. The agent shares its
 * sandbox with the command, so its errors are claims, not facts: only the codes an agent
 * has reason to send pass (a missing program, an argument it refuses), and the message and
 * hint the client sees are the manager's. Anything else (another code, a broken or flooded
 * connection, a broken protocol, a dead agent) is `sandbox_failed`, and its cause goes to
 * the log, truncated.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../../proto/gen/pyro/common/v1/error_pb.js";
import { ERRORS, PyroError } from "../../../sdk/src/errors.js";
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

function sandboxFailed(ctx: AgentCallContext, what: string, cause: unknown): PyroError {
  return new PyroError("sandbox_failed", `sandbox ${ctx.sandbox} failed during the command: ${what}`, { cause });
}

/** Maps any error of an agent call to the error the client sees, logging what the agent did. */
export function agentCallError(err: unknown, ctx: AgentCallContext): PyroError {
  if (err instanceof PyroError) return err; // the manager's own (e.g. a timeout it reports)
  if (err instanceof AgentProtocolError) {
    ctx.log.warn("agent broke the exec protocol", { sandbox: ctx.sandbox, reason: err.reason, event: err.detail });
    return sandboxFailed(ctx, `its agent broke the protocol (${err.reason})`, err);
  }
  if (err instanceof ConnectError) {
    const [detail] = err.findDetails(ErrorDetailSchema);
    const code = detail?.code ?? "";
    const allowed = Object.hasOwn(ALLOWED, code) && err.code === ERRORS[code as keyof typeof ERRORS].grpc ? ALLOWED[code] : undefined;
    if (allowed) return allowed(ctx, err.rawMessage);
    ctx.log.warn("agent call failed", {
      sandbox: ctx.sandbox,
      grpcCode: Code[err.code] ?? err.code,
      guestCode: detail ? untrustedText(detail.code, 64) : undefined,
      message: untrustedText(err.rawMessage),
    });
    const what = err.code === Code.ResourceExhausted ? "its agent sent more than the manager accepts" : "its agent failed, or the connection to it broke";
    return sandboxFailed(ctx, what, err);
  }
  ctx.log.warn("agent call failed", { sandbox: ctx.sandbox, error: untrustedText(err instanceof Error ? err.message : String(err)) });
  return sandboxFailed(ctx, "its agent failed", err);
}
