/** Table entries of commands in a workspace: `workspace_exec` and its journal, `workspace_logs`. */
import { SANDBOX_BOUNDS as B } from "../contract/limits.js";
import { execJson, execSummary, logsJson, logsSummary } from "../json-workspace.js";
import { defineOperation } from "./spec.js";
import { IN_WORKSPACE, LOOP, MAX_OUTPUT_BYTES, READ_ONLY, WORKSPACE_ID } from "./workspace-params.js";

export const workspaceExec = defineOperation({
  name: "workspace_exec",
  title: "Run a command in a workspace",
  description:
    "Run one command in a workspace, in /workspace, and return its exit code and output (cut to max_output_bytes, head and tail kept). " +
    "Files it writes stay for the next command; each command is journaled with an increasing sequence number. " +
    `On timeout its whole process group is killed and the result says timed_out. Use it to build and test after an edit. ${IN_WORKSPACE} ${LOOP}`,
  params: [
    WORKSPACE_ID,
    { name: "command", kind: "string", required: true, cli: "argv", description: "The command to run. MCP: one command line, run with /bin/sh -c in /workspace. CLI: the words after `--`, run without a shell." },
    { name: "timeout_seconds", kind: "integer", default: B.timeoutSeconds.default, min: B.timeoutSeconds.min, max: B.timeoutSeconds.max, description: "Seconds the command may run before its whole process group is killed." },
    MAX_OUTPUT_BYTES,
  ],
  // Commands change files in the workspace (never outside it); with network on they reach the internet.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  profiles: ["workspace-core", "workspace-full"],
  call: (client, a, ctx) =>
    client.execWorkspace(a.workspace_id, a.command, {
      timeoutSeconds: a.timeout_seconds,
      signal: ctx.signal,
      onStarted: ctx.onStarted && (() => ctx.onStarted?.()),
      onOutput: ctx.onOutput,
    }),
  json: (r, a) => execJson(r, a.max_output_bytes),
  summary: execSummary,
});

export const workspaceLogs = defineOperation({
  name: "workspace_logs",
  title: "Show a workspace's command journal",
  description: "Show the commands a workspace ran since it was created or reset, oldest first, with their exit codes, times and output (each cut to max_output_bytes).",
  params: [WORKSPACE_ID, MAX_OUTPUT_BYTES],
  annotations: READ_ONLY,
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.workspaceLogs(a.workspace_id, { signal: ctx.signal }),
  json: (r, a) => logsJson(r, a.max_output_bytes),
  summary: logsSummary,
});
