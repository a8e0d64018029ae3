/** `pyro workspace delete WS`: Delete a workspace and everything pyro kept for it. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const remove = operationCommand(OPERATIONS.workspace_delete, {
  verb: "delete",
  describe: "Delete a workspace and everything pyro kept for it",
  examples: [["$0 workspace delete app", "delete it"]],
});
