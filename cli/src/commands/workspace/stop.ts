/** `pyro workspace stop WS`: Stop a workspace's processes, keeping its files. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const stop = operationCommand(OPERATIONS.workspace_stop, {
  verb: "stop",
  describe: "Stop a workspace's processes, keeping its files",
  examples: [["$0 workspace stop app", "stop it; `pyro workspace start app` resumes"]],
});
