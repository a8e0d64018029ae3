/**
 * The guest agent's entry point: `agent (--listen-fd N | --socket PATH) --workspace DIR`. Prints one line,
 * `PYRO_AGENT_READY`, on stdout once it serves, which is how the host knows it is up
 * without polling. Logs go to stderr. Bundled as CommonJS (dist/agent.cjs) and started by
 * dist/agent.mjs, which uses the V8 code cache the host makes when it lays out the runtime.
 */
import { parseArgs } from "node:util";
import { BASE_ENV } from "./process/command.js";
import { ProcessTable } from "./process/process-table.js";
import { serveAgent } from "./server.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { socket: { type: "string" }, "listen-fd": { type: "string" }, workspace: { type: "string" } },
  });
  const fd = Number(values["listen-fd"]);
  const listen = values["listen-fd"] !== undefined && Number.isInteger(fd) && fd > 2 ? { fd } : values.socket ? { socketPath: values.socket } : undefined;
  if (!listen || !values.workspace) {
    process.stderr.write("usage: agent (--listen-fd N | --socket PATH) --workspace DIR\n");
    process.exit(2);
  }
  // The host's environment is not the sandbox's: commands start from BASE_ENV only.
  const table = new ProcessTable({ workspaceDir: values.workspace, baseEnv: BASE_ENV });
  await serveAgent(listen, table);
  process.stdout.write("PYRO_AGENT_READY\n");
  // Where the sandbox has no pid namespace of its own (the host backend), the host asks the
  // agent to end, and the agent ends everything it started, background processes included.
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => {
      table.killAll();
      process.exit(0);
    });
  }
}

void main();
