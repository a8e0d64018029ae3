/** `pyro workspace update WS`: Rename a workspace, or set and clear its labels. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const update = operationCommand(OPERATIONS.workspace_update, {
  verb: "update",
  describe: "Rename a workspace, or set and clear its labels",
  examples: [["$0 workspace update app --name api --label stage=test --clear-label task", "rename and relabel"]],
});
