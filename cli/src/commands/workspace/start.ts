/** `pyro workspace start WS`: Start a stopped workspace again on the same files. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const start = operationCommand(OPERATIONS.workspace_start, {
  verb: "start",
  describe: "Start a stopped workspace again on the same files",
  examples: [["$0 workspace start app", "start it again"]],
});
