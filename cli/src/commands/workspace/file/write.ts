/** `pyro workspace file write WS PATH`: Write a text file under /workspace (whole content, atomically). */
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import { operationCommand } from "../../../operation-command.js";

export const write = operationCommand(OPERATIONS.workspace_file_write, {
  verb: "write",
  describe: "Write a text file under /workspace (whole content, atomically)",
  examples: [["$0 workspace file write app src/config.json --text-file ./config.json", "copy a host file's text in"]],
});
