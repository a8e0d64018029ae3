/**
 * `pyro mcp serve`: pyro's operations as MCP tools over stdio. Only MCP protocol goes to
 * stdout; logs go to the `log` function (stderr). Tools call the manager through the SDK
 * client, which starts a manager when none is running.
 */
import type { Readable, Writable } from "node:stream";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { PyroError } from "../../sdk/src/errors.js";
import { MCP_PROFILES, type OperationName } from "../../sdk/src/operations.js";
import type { PyroClient } from "../../sdk/src/types.js";
import { VERSION } from "../../sdk/src/version.js";
import type { Log } from "./results.js";
import { registerVmListEnvironments } from "./tools/vm-list-environments.js";
import { registerVmRun } from "./tools/vm-run.js";

const TOOLS: Record<OperationName, (server: McpServer, client: PyroClient, log: Log) => void> = {
  vm_run: registerVmRun,
  vm_list_environments: registerVmListEnvironments,
};

/** The operations a profile exposes; invalid_argument for unknown or not-yet-available profiles. */
export function profileOperations(profile: string): readonly OperationName[] {
  const ops = MCP_PROFILES[profile];
  if (!ops) {
    const available = Object.keys(MCP_PROFILES).filter((p) => MCP_PROFILES[p]);
    const what = profile in MCP_PROFILES ? "is not available yet" : "does not exist";
    throw new PyroError("invalid_argument", `MCP profile ${profile} ${what} (available: ${available.join(", ")})`, {
      hint: `use --profile ${available[0] ?? "vm-run"}`,
    });
  }
  return ops;
}

export interface McpServerOptions {
  profile: string;
  client: PyroClient;
  log: Log;
}

/** An MCP server with the profile's tools registered (not yet connected). */
export function createMcpServer(opts: McpServerOptions): McpServer {
  const server = new McpServer(
    { name: "pyro", version: VERSION },
    { instructions: "pyro runs commands in disposable, isolated Linux sandboxes. Every error result carries a stable code and a hint saying what to do next." },
  );
  for (const name of profileOperations(opts.profile)) TOOLS[name](server, opts.client, opts.log);
  return server;
}

export interface ServeMcpOptions extends McpServerOptions {
  stdin: Readable;
  stdout: Writable;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
}

/** Serves over stdio until stdin ends, the transport closes, or `signal` aborts. */
export async function serveMcp(opts: ServeMcpOptions): Promise<void> {
  const server = createMcpServer(opts);
  const transport = new StdioServerTransport(opts.stdin, opts.stdout);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  server.server.onerror = (err) => opts.log(`mcp: ${err.message}`);
  await server.connect(transport);
  const stop = () => void server.close().catch(() => {});
  opts.stdin.once("end", stop);
  opts.signal?.addEventListener("abort", stop, { once: true });
  opts.log(`pyro ${VERSION} MCP server (profile ${opts.profile}) ready on stdio`);
  await closed;
  opts.stdin.off("end", stop);
  opts.signal?.removeEventListener("abort", stop);
}
