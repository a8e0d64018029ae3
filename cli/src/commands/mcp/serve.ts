/** `pyro mcp serve [--profile …]`: the MCP server over stdio. */
import { DEFAULT_MCP_PROFILE, MCP_PROFILE_NAMES } from "../../../../sdk/src/operations.js";
import type { CommandModule } from "../../context.js";

export const serve: CommandModule<{ profile: string }> = {
  command: "serve",
  describe: "Serve pyro's tools over MCP on stdin/stdout (logs go to stderr); starts the manager when needed",
  builder: (y) =>
    y
      .option("profile", {
        type: "string",
        choices: MCP_PROFILE_NAMES,
        default: DEFAULT_MCP_PROFILE,
        describe: "Tool profile: vm-run (vm_run only), workspace-core (the workspace loop: create, exec, files, patch, diff, export, reset, delete) or workspace-full (every tool)",
      })
      .example("$0 mcp serve", "serve the default profile to an MCP client on stdio")
      .example("$0 mcp serve --profile vm-run", "offer only vm_run"),
  async handler({ ctx, profile }) {
    const { io } = ctx;
    // Loaded here so that no other command pays for the MCP SDK and zod.
    const { serveMcp } = await import("../../../../mcp/src/server.js");
    await serveMcp({
      profile,
      client: await ctx.client(),
      stdin: io.stdin,
      stdout: io.stdout,
      log: (line) => void io.stderr.write(line + "\n"),
      signal: io.signal,
    });
  },
};
