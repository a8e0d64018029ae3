/** `pyro workspace create ENV [flags]`: a new workspace, started, optionally seeded. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import type { WorkspaceInfo } from "../../../../sdk/src/workspace-types.js";
import { operationCommand } from "../../operation-command.js";

export const create = operationCommand<WorkspaceInfo>(OPERATIONS.workspace_create, {
  verb: "create",
  describe: "Create and start a workspace from an environment, seeded from a host directory or archive (its baseline)",
  builder: (y) => y.option("id-only", { type: "boolean", describe: "Print only the new workspace's id (for scripts)" }),
  examples: [
    ["$0 workspace create debian:12 --seed-path ./repo --name app", "a workspace holding a copy of ./repo"],
    ["$0 workspace create debian:12-build --label task=42 --id-only", "print only the id"],
  ],
  human: ({ result, parsed, io, summary }) => void io.stdout.write(parsed["id-only"] ? `${result.workspaceId}\n` : `${summary()}\n`),
});
