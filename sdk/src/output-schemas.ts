/**
 * zod output schemas (MCP `outputSchema`) of every operation's structured result, as the
 * renderers in `json.ts` write it. MCP clients check `structuredContent` against them; a
 * unit test checks every renderer against its schema, strictly.
 */
import { z } from "zod";
import type { OperationName } from "./operations.js";
import { VM_OUTPUT_SHAPES } from "./output-schemas-vm.js";
import { limitsSchema, WORKSPACE_OUTPUT_SHAPES } from "./output-schemas-workspace.js";

const runResult = {
  environment: z.string().describe("The environment the sandbox started from."),
  execution_mode: z.string().describe("The backend that ran the command: namespace, host or firecracker."),
  sandbox_id: z.string().describe("The (now deleted) sandbox's id."),
  limits: limitsSchema.describe("The limits the sandbox ran under, and which this host enforced (CPU, memory in MiB, disk in MiB, processes)."),
  seccomp: z.string().describe("The seccomp filter the command ran under, e.g. pyro-default/x86_64; empty when none (the host backend)."),
  exit_code: z.number().int().describe("The command's exit status; -1 when a signal ended it."),
  signal: z.string().describe("The signal that ended the command, e.g. SIGKILL; empty otherwise."),
  duration_ms: z.number().describe("Time the command ran, in milliseconds."),
  total_ms: z.number().describe("Time from request to exit, sandbox start included, in milliseconds."),
  stdout: z.string().describe("Standard output (UTF-8, first 1 MiB)."),
  stderr: z.string().describe("Standard error (UTF-8, first 1 MiB)."),
  stdout_truncated: z.boolean().describe("True when stdout exceeded 1 MiB."),
  stderr_truncated: z.boolean().describe("True when stderr exceeded 1 MiB."),
};

const environment = z.object({
  name: z.string(),
  version: z.string(),
  description: z.string(),
  installed: z.boolean(),
  packages: z.array(z.string()),
  manifest: z
    .object({
      path: z.string(),
      rootfs_digest: z.string(),
      size_bytes: z.number(),
      package_count: z.number().int(),
      created_at: z.string(),
      source: z.string(),
      mirror: z.string(),
      installed_packages: z.array(z.string()),
    })
    .optional(),
});

/** The zod output shape (MCP `outputSchema`) of each operation's result. */
export const OUTPUT_SHAPES: Record<OperationName, z.ZodRawShape> = {
  ...WORKSPACE_OUTPUT_SHAPES,
  ...VM_OUTPUT_SHAPES,
  vm_run: runResult,
  vm_list_environments: { environments: z.array(environment).describe("Every catalog entry, installed or not.") },
};
