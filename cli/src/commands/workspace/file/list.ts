/** `pyro workspace file list WS [PATH]`: List a directory under /workspace. */
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import { operationCommand } from "../../../operation-command.js";

export const list = operationCommand(OPERATIONS.workspace_file_list, {
  verb: "list",
  describe: "List a directory under /workspace",
  examples: [["$0 workspace file list app src --recursive", "everything under /workspace/src"]],
});
