/** Turns entries of the operations table into yargs positionals and flags, so CLI help and MCP schemas share one source. */
import type { Argv, Options, PositionalOptions } from "yargs";
import type { OperationSpec, ParamSpec } from "../../sdk/src/operations.js";

/** `vcpu_count` → `vcpu-count`. */
export function flagName(param: string): string {
  return param.replace(/_/g, "-");
}

function integerCoercer(p: ParamSpec) {
  const flag = `--${flagName(p.name)}`;
  return (value: unknown): number => {
    if (Array.isArray(value)) throw new Error(`${flag} was given more than once`);
    const n = typeof value === "number" ? value : Number(value);
    if (value === "" || !Number.isInteger(n)) throw new Error(`${flag} must be a whole number${Number.isNaN(n) ? "" : `, got ${n}`}`);
    if (p.min !== undefined && n < p.min) throw new Error(`${flag} must be at least ${p.min}, got ${n}`);
    if (p.max !== undefined && n > p.max) throw new Error(`${flag} must be at most ${p.max}, got ${n}`);
    return n;
  };
}

function flagOptions(p: ParamSpec): Options {
  const base: Options = { describe: p.description };
  if (p.default !== undefined) base.default = p.default;
  if (p.kind === "boolean") return { ...base, type: "boolean" };
  if (p.kind === "integer") return { ...base, type: "number", requiresArg: true, coerce: integerCoercer(p) };
  return { ...base, type: "string", requiresArg: true };
}

function positionalOptions(p: ParamSpec): PositionalOptions {
  if (p.cli === "argv") return { type: "string", array: true, describe: p.description };
  return { type: "string", describe: p.description, demandOption: p.required };
}

/** Adds the operation's positionals (declared in the command string) and flags to `y`. */
export function addOperationArgs<T>(y: Argv<T>, op: OperationSpec): Argv<T> {
  for (const p of op.params) {
    if (p.cli === "positional" || p.cli === "argv") y = y.positional(p.name, positionalOptions(p)) as Argv<T>;
    else y = y.option(flagName(p.name), flagOptions(p)) as Argv<T>;
  }
  return y;
}
