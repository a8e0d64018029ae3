/** `pyro workspace reset WS`: Recreate a workspace from its baseline (or a snapshot). */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const reset = operationCommand(OPERATIONS.workspace_reset, {
  verb: "reset",
  describe: "Recreate a workspace from its baseline (or a snapshot)",
  examples: [
    ["$0 workspace reset app", "back to the baseline"],
    ["$0 workspace reset app --snapshot before-upgrade", "back to a snapshot"],
  ],
});
