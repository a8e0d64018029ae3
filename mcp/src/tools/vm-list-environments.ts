/** The `vm_list_environments` tool: the environment catalog. */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { environmentListJson } from "../../../sdk/src/json.js";
import { inputShape, OUTPUT_SHAPES } from "../../../sdk/src/operation-schemas.js";
import { OPERATIONS } from "../../../sdk/src/operations.js";
import type { PyroClient } from "../../../sdk/src/types.js";
import { errorResult, okResult, type Log } from "../results.js";

const op = OPERATIONS.vm_list_environments;

export function registerVmListEnvironments(server: McpServer, client: PyroClient, log: Log): void {
  server.registerTool(
    op.name,
    { title: op.title, description: op.description, inputSchema: inputShape(op), outputSchema: OUTPUT_SHAPES.vm_list_environments, annotations: { title: op.title, ...op.annotations } },
    async (_args, extra) => {
      try {
        const json = environmentListJson(await client.environments.list({ signal: extra.signal }));
        const text = json.environments.map((e) => `${e.name} (${e.installed ? "installed" : "not installed"}, version ${e.version}): ${e.description}`).join("\n");
        return okResult(json, text || "no environments");
      } catch (err) {
        return errorResult(err, log);
      }
    },
  );
}
