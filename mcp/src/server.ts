/**
 * `pyro mcp serve`: pyro's operations as MCP tools over stdio. Only MCP protocol goes to
 * stdout; logs go to the `log` function (stderr). Tools call the manager through the SDK
 * client, which starts a manager when none is running. Every tool of a profile is registered
 * by one loop over the operations table.
 */
import type { Readable, Writable } from "node:stream";
import { McpServer, type RegisteredTool } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import { PyroError } from "../../sdk/src/errors.js";
import { inputSchema } from "../../sdk/src/operation-schemas.js";
import { isMcpProfile, MCP_PROFILES, OPERATIONS, type OperationName } from "../../sdk/src/operations.js";
import type { AnyOperation, McpProfileName } from "../../sdk/src/operations/spec.js";
import { IN_WORKSPACE, LOOP } from "../../sdk/src/operations/workspace-params.js";
import { OUTPUT_SHAPES } from "../../sdk/src/output-schemas.js";
import type { PullProgressInfo, PyroClient } from "../../sdk/src/types.js";
import { VERSION } from "../../sdk/src/version.js";
import { errorResult, okResult, type Log } from "./results.js";

/** What the server tells a model about pyro as a whole; each tool's description says the rest. */
function instructions(profile: McpProfileName): string {
  const base = "pyro runs commands in disposable, isolated Linux sandboxes. Every error result carries a stable code and a hint saying what to do next.";
  if (profile === "vm-run") return base;
  return `${base} A workspace is a sandbox that persists between calls: create one, then work in it. ${LOOP} ${IN_WORKSPACE} Delete the workspace when done; it expires by itself otherwise.`;
}

/** The operations a profile offers; invalid_argument for unknown or not-yet-available profiles. */
export function profileOperations(profile: string): readonly OperationName[] {
  const ops = isMcpProfile(profile) ? MCP_PROFILES[profile] : undefined;
  if (!ops || ops.length === 0) {
    const available = (Object.keys(MCP_PROFILES) as McpProfileName[]).filter((p) => MCP_PROFILES[p].length > 0);
    const what = ops ? "is not available yet" : "does not exist";
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

type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Turns environment install progress into MCP progress notifications, when the caller asked for them. */
function progressNotifier(extra: ToolExtra): ((p: PullProgressInfo) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let step = 0;
  return (p) =>
    void extra
      .sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: ++step, message: `installing ${p.environment}: ${p.phase}${p.message ? ` - ${p.message}` : ""}` } })
      .catch(() => {});
}

function registerOperation(server: McpServer, op: AnyOperation, profile: McpProfileName, opts: McpServerOptions): RegisteredTool {
  return server.registerTool(
    op.name,
    {
      title: op.title,
      description: op.description,
      inputSchema: inputSchema(op, profile),
      outputSchema: OUTPUT_SHAPES[op.name as OperationName],
      annotations: { title: op.title, ...op.annotations },
    },
    async (args: Record<string, unknown>, extra: ToolExtra) => {
      try {
        const result: unknown = await op.call(opts.client, args, { signal: extra.signal, onProgress: progressNotifier(extra) });
        const json = op.json(result, args);
        return okResult(json, op.summary(json));
      } catch (err) {
        return errorResult(err, opts.log);
      }
    },
  );
}

/** An MCP server with the profile's tools registered (not yet connected). */
export function createMcpServer(opts: McpServerOptions): McpServer {
  const names = profileOperations(opts.profile);
  const profile = opts.profile as McpProfileName;
  const server = new McpServer({ name: "pyro", version: VERSION }, { instructions: instructions(profile) });
  for (const name of names) registerOperation(server, OPERATIONS[name], profile, opts);
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
