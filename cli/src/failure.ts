/**
 * The CLI's one failure handler. A PyroError is one line on stderr (or one JSON document
 * on stdout with --json) and its table exit status; anything else is a bug: `internal`,
 * exit 125, with the stack only under --debug. Messages echo at most a few hundred
 * characters of any argument.
 */
import { cut } from "../../sdk/src/echo.js";
import { PyroError } from "../../sdk/src/errors.js";
import { errorJson } from "../../sdk/src/json.js";
import type { CliIo } from "./io.js";

export interface FailureOptions {
  json: boolean;
  debug: boolean;
}

/** Reports `err` and returns the exit status. */
export function reportFailure(err: unknown, io: CliIo, opts: FailureOptions): number {
  const known = err instanceof PyroError;
  const pe = known ? err : new PyroError("internal", err instanceof Error && err.message ? err.message : String(err));
  if (opts.json) io.stdout.write(JSON.stringify(errorJson(pe)) + "\n");
  else io.stderr.write(`error: ${pe.toLine()}\n`);
  if (opts.debug) {
    const detail = known ? pe.cause : err;
    if (detail instanceof Error && detail.stack) io.stderr.write(detail.stack + "\n");
  }
  return pe.exitCode;
}

/** A usage error found by the parser (unknown flag, bad value, missing argument). */
export function usageError(err: unknown, commandPath: string[]): PyroError {
  // yargs spreads some messages over several lines ("Invalid values:\n  Argument: …"); keep one.
  const text = err instanceof Error ? err.message : String(err);
  const message = cut(text.split("\n").map((l) => l.trim()).filter(Boolean).join(" ") || "invalid arguments");
  const help = ["pyro", ...commandPath, "--help"].join(" ");
  return new PyroError("invalid_argument", message, { hint: `run \`${help}\` to see the arguments`, cause: err });
}
