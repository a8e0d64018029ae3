/** `pyro workspace logs WS`: Show the commands a workspace ran (its journal). */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const logs = operationCommand(OPERATIONS.workspace_logs, {
  verb: "logs",
  describe: "Show the commands a workspace ran (its journal)",
  examples: [["$0 workspace logs app", "every command since the last reset"]],
});
