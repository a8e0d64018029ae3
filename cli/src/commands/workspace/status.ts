/** `pyro workspace status WS`: Show a workspace's state, limits, labels and snapshots. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const status = operationCommand(OPERATIONS.workspace_status, {
  verb: "status",
  describe: "Show a workspace's state, limits, labels and snapshots",
  examples: [["$0 workspace status app", "the workspace named app"]],
});
