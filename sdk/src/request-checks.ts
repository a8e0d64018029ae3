/** Checks the SDK makes on a request before sending it: what the manager would refuse anyway is not worth a round trip. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RunRequestSchema } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { RUN_LIMITS } from "./contract/limits.js";
import { PyroError } from "./errors.js";
import type { RunOptions } from "./types.js";

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

/** The wire form of a one-shot run, checked. */
export function runRequest(environment: string, command: string[] | string, o: RunOptions): MessageInitShape<typeof RunRequestSchema> {
  if (!environment) throw new PyroError("invalid_argument", "environment is empty", { hint: "name an environment, e.g. debian:12 (see `pyro env list`)" });
  return {
    environment,
    ...commandFields(command, "pyro run debian:12 -- uname -a"),
    vcpuCount: uint("vcpuCount", o.vcpuCount),
    memMib: uint("memMib", o.memMib),
    diskMib: uint("diskMib", o.diskMib),
    timeoutSeconds: uint("timeoutSeconds", o.timeoutSeconds),
    ttlSeconds: uint("ttlSeconds", o.ttlSeconds),
    network: o.network ?? false,
    allowHostCompat: o.allowHostCompat ?? false,
    backend: o.backend ?? "",
    env: o.env ?? {},
    cwd: o.cwd ?? "",
    // Refused here rather than by the manager: a request it will not read is not worth sending.
    stdin: stdinBytes(o.stdin),
  };
}
