/** `pyro workspace diff WS`: Show what changed in /workspace since the baseline. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const diff = operationCommand(OPERATIONS.workspace_diff, {
  verb: "diff",
  describe: "Show what changed in /workspace since the baseline",
  examples: [["$0 workspace diff app", "a unified diff against the baseline"]],
});
