/** The `vm_run` tool: one shell command in a fresh sandbox. */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { runResultJson, type RunResultJson } from "../../../sdk/src/json.js";
import { inputShape, OUTPUT_SHAPES } from "../../../sdk/src/operation-schemas.js";
import { OPERATIONS, type OperationArgs } from "../../../sdk/src/operations.js";
import type { PullProgressInfo, PyroClient } from "../../../sdk/src/types.js";
import { errorResult, okResult, type Log } from "../results.js";

const op = OPERATIONS.vm_run;

/** The text part of the result, for clients that show text only. */
export function runSummary(r: RunResultJson): string {
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exit_code}`;
  let text = `The command ${how} after ${r.duration_ms} ms (${r.execution_mode} backend, ${r.environment}).`;
  if (r.stdout) text += `\n\nstdout${r.stdout_truncated ? " (first 1 MiB)" : ""}:\n${r.stdout}`;
  if (r.stderr) text += `\n\nstderr${r.stderr_truncated ? " (first 1 MiB)" : ""}:\n${r.stderr}`;
  return text;
}

export function registerVmRun(server: McpServer, client: PyroClient, log: Log): void {
  server.registerTool(
    op.name,
    { title: op.title, description: op.description, inputSchema: inputShape(op), outputSchema: OUTPUT_SHAPES.vm_run, annotations: { title: op.title, ...op.annotations } },
    async (raw, extra) => {
      const args = raw as OperationArgs<"vm_run">;
      const token = extra._meta?.progressToken;
      let step = 0;
      const onProgress =
        token === undefined
          ? undefined
          : (p: PullProgressInfo) =>
              void extra
                .sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: ++step, message: `installing ${p.environment}: ${p.phase}${p.message ? ` - ${p.message}` : ""}` } })
                .catch(() => {});
      try {
        const result = await client.run(args.environment, args.command, {
          vcpuCount: args.vcpu_count,
          memMib: args.mem_mib,
          diskMib: args.disk_mib,
          timeoutSeconds: args.timeout_seconds,
          ttlSeconds: args.ttl_seconds,
          network: args.network,
          allowHostCompat: args.allow_host_compat,
          signal: extra.signal,
          onProgress,
        });
        const json = runResultJson(result);
        return okResult(json, runSummary(json));
      } catch (err) {
        return errorResult(err, log);
      }
    },
  );
}
