/**
 * Entries of the operations table as yargs positionals and flags, and the parsed command line
 * back as the operation's snake_case arguments, so CLI help, CLI checks and MCP schemas share
 * one source: the same names, bounds, defaults and choices.
 */
import { readFile, stat } from "node:fs/promises";
import type { Argv, Options, PositionalOptions } from "yargs";
import { cut } from "../../sdk/src/echo.js";
import { PyroError } from "../../sdk/src/errors.js";
import { flagOf, kebab, type AnyOperation, type ParamSpec } from "../../sdk/src/operations/spec.js";

/** `vcpu_count` → `vcpu-count`. */
export const flagName = kebab;

/** The `--…-file` flag that stands in for a text_or_file parameter's text. */
export function fileFlagOf(p: ParamSpec): string {
  return `${flagOf(p)}-file`;
}

function cliShape(p: ParamSpec) {
  return p.cli ?? "flag";
}

function integerCoercer(p: ParamSpec) {
  const flag = `--${flagOf(p)}`;
  return (value: unknown): number => {
    if (Array.isArray(value)) throw new Error(`${flag} was given more than once`);
    const n = typeof value === "number" ? value : Number(value);
    if (value === "" || !Number.isInteger(n)) throw new Error(`${flag} must be a whole number${Number.isNaN(n) ? "" : `, got ${n}`}`);
    if (p.min !== undefined && n < p.min) throw new Error(`${flag} must be at least ${p.min}, got ${n}`);
    if (p.max !== undefined && n > p.max) throw new Error(`${flag} must be at most ${p.max}, got ${n}`);
    return n;
  };
}

function singleString(flag: string) {
  return (value: unknown): string => {
    if (Array.isArray(value)) throw new Error(`${flag} was given more than once`);
    return String(value);
  };
}

function flagOptions(p: ParamSpec): Options {
  const base: Options = { describe: p.description };
  if (p.default !== undefined) base.default = p.default;
  else if (p.required) base.demandOption = true;
  if (p.kind === "boolean") return { ...base, type: "boolean" };
  if (p.kind === "integer") return { ...base, type: "number", requiresArg: true, coerce: integerCoercer(p) };
  if (p.choices) return { ...base, type: "string", requiresArg: true, choices: [...p.choices] };
  return { ...base, type: "string", requiresArg: true, coerce: singleString(`--${flagOf(p)}`) };
}

function positionalOptions(p: ParamSpec): PositionalOptions {
  if (cliShape(p) === "argv") return { type: "string", array: true, describe: p.description };
  return { type: "string", describe: p.description, demandOption: p.required };
}

/** The positional part of a command string, e.g. `<workspace_id> [path]` or `<environment> [command..]`. */
export function positionalsOf(op: AnyOperation): string {
  return op.params
    .flatMap((p) => {
      const shape = cliShape(p);
      if (shape === "argv") return [`[${p.name}..]`];
      if (shape === "positional") return [p.required ? `<${p.name}>` : `[${p.name}]`];
      return [];
    })
    .join(" ");
}

/** Adds the operation's positionals (declared in the command string, see `positionalsOf`) and flags to `y`. */
export function addOperationArgs<T>(y: Argv<T>, op: AnyOperation): Argv<T> {
  for (const p of op.params) {
    const shape = cliShape(p);
    if (shape === "none") continue;
    if (shape === "positional" || shape === "argv") y = y.positional(p.name, positionalOptions(p)) as Argv<T>;
    else if (shape === "repeatable") {
      const what = p.kind === "string_map" ? "KEY=VALUE" : "VALUE";
      // Not `array: true`: an array flag would swallow the positionals after it.
      y = y.option(flagOf(p), { type: "string", requiresArg: true, describe: `${p.description} (${what}; repeat the flag for more)` }) as Argv<T>;
    } else if (shape === "text_or_file") {
      y = y
        .option(flagOf(p), { type: "string", requiresArg: true, coerce: singleString(`--${flagOf(p)}`), describe: p.description })
        .option(fileFlagOf(p), { type: "string", requiresArg: true, coerce: singleString(`--${fileFlagOf(p)}`), describe: `Read the ${flagOf(p)} from this host file instead (UTF-8)` })
        .conflicts(flagOf(p), fileFlagOf(p)) as Argv<T>;
    } else y = y.option(flagOf(p), flagOptions(p)) as Argv<T>;
  }
  return y;
}

function invalid(message: string): PyroError {
  return new PyroError("invalid_argument", message);
}

/** Refuses a string the table's pattern or length refuses (MCP's zod schema checks the same). */
function checkString(p: ParamSpec, value: string, label: string): string {
  if (p.required && value === "") throw invalid(`${label} is empty`);
  if (p.maxLength !== undefined && value.length > p.maxLength) throw new PyroError("too_large", `${label} is ${value.length} characters; at most ${p.maxLength} are allowed`);
  if (p.pattern !== undefined && value !== "" && !new RegExp(p.pattern).test(value)) throw invalid(`${label} ${JSON.stringify(cut(value, 80))} does not match ${p.pattern}`);
  return value;
}

function listOf(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** `KEY=VALUE` words as a map; a word without `=` or with an empty key is refused. */
export function keyValues(words: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq <= 0) throw invalid(`${flag} takes KEY=VALUE, got ${JSON.stringify(cut(w, 80))}`);
    out[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return out;
}

/** Reads a host file's UTF-8 text for a text_or_file parameter, refusing more than the parameter allows. */
async function readTextFile(p: ParamSpec, path: string): Promise<string> {
  const flag = `--${fileFlagOf(p)}`;
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw invalid(`${flag} ${cut(path, 200)} is not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof PyroError) throw err;
    throw invalid(`${flag}: cannot read ${cut(path, 200)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const max = p.maxLength ?? Infinity;
  // Characters never outnumber bytes: a file within the bound in bytes is within it in characters.
  if (size > 4 * max) throw new PyroError("too_large", `${flag} ${cut(path, 200)} is ${size} bytes; at most ${max} characters are allowed`);
  const bytes = await readFile(path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new PyroError("not_text", `${flag} ${cut(path, 200)} is not UTF-8 text`);
  }
  return checkString(p, text, flag);
}

/** The operation's arguments (snake_case, defaults applied) from what yargs parsed. */
export async function operationArgs(op: AnyOperation, parsed: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const p of op.params) {
    const flag = `--${flagOf(p)}`;
    switch (cliShape(p)) {
      case "none":
        break;
      case "positional": {
        const v = parsed[p.name];
        if (v !== undefined) out[p.name] = checkString(p, String(v), p.name);
        break;
      }
      case "argv":
        out[p.name] = [...listOf(parsed[p.name]), ...listOf(parsed["--"])];
        break;
      case "repeatable": {
        const words = listOf(parsed[flagOf(p)]);
        if (p.kind === "string_map") out[p.name] = keyValues(words, flag);
        else out[p.name] = words.map((w) => checkString({ ...p, required: true }, w, flag));
        break;
      }
      case "text_or_file": {
        const text = parsed[flagOf(p)];
        const file = parsed[fileFlagOf(p)];
        if (typeof file === "string") out[p.name] = await readTextFile(p, file);
        else if (typeof text === "string") out[p.name] = checkString({ ...p, required: false }, text, flag);
        else if (p.required) throw invalid(`give ${flag} TEXT or --${fileFlagOf(p)} HOST_PATH`);
        break;
      }
      default: {
        const v = parsed[flagOf(p)];
        if (v === undefined) break;
        out[p.name] = p.kind === "string" && !p.choices ? checkString(p, String(v), flag) : v;
      }
    }
  }
  return out;
}
