/** `pyro workspace snapshot delete WS NAME`: Delete a snapshot. */
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import { operationCommand } from "../../../operation-command.js";

export const remove = operationCommand(OPERATIONS.snapshot_delete, {
  verb: "delete",
  describe: "Delete a snapshot",
  examples: [["$0 workspace snapshot delete app before-upgrade", "delete it"]],
});
