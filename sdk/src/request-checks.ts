/** Checks the SDK makes on a request before sending it: what the manager would refuse anyway is not worth a round trip. */
import { RUN_LIMITS } from "./contract/limits.js";
import { PyroError } from "./errors.js";

/** A uint32 field: unset is 0 (the manager's default). */
export function uint(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new PyroError("invalid_argument", `${name} must be a non-negative integer, got ${value}`, { hint: `pass a whole number for ${name}` });
  }
  return value;
}

/** Standard input as bytes, refused past what the manager reads. */
export function stdinBytes(stdin: Uint8Array | string | undefined): Uint8Array {
  const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : (stdin ?? new Uint8Array(0));
  if (bytes.length > RUN_LIMITS.stdinBytes) {
    throw new PyroError("invalid_argument", `stdin is ${bytes.length} bytes; at most ${RUN_LIMITS.stdinBytes} are allowed`, { hint: "pass large data in smaller parts, or have the command fetch it" });
  }
  return bytes;
}

/** A command as argv or one shell line, refused when empty. */
export function commandFields(command: string[] | string, example: string): { argv: string[]; shellCommand: string } {
  const shell = typeof command === "string";
  if (shell ? command.trim() === "" : command.length === 0) {
    throw new PyroError("invalid_argument", "command is empty", { hint: `give the command to run, e.g. \`${example}\`` });
  }
  return shell ? { argv: [], shellCommand: command } : { argv: command, shellCommand: "" };
}
