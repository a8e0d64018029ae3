/** `pyro workspace export WS PATH --output HOST_PATH`: Copy a file or directory of /workspace to a new host path. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import { operationCommand } from "../../operation-command.js";

export const exportCommand = operationCommand(OPERATIONS.workspace_export, {
  verb: "export",
  describe: "Copy a file or directory of /workspace to a new host path",
  examples: [["$0 workspace export app dist --output ./dist", "copy /workspace/dist to ./dist"]],
});
