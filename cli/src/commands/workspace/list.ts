/** `pyro workspace list`: List live workspaces, most recently changed first. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const list = operationCommand(OPERATIONS.workspace_list, {
  verb: "list",
  describe: "List live workspaces, most recently changed first",
  examples: [["$0 workspace list", "show every workspace"]],
});
