/** `pyro workspace sync push WS SOURCE`: Import a host directory or .tar/.tar.gz/.tgz archive under /workspace. */
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import { operationCommand } from "../../../operation-command.js";

export const push = operationCommand(OPERATIONS.workspace_sync_push, {
  verb: "push",
  describe: "Import a host directory or .tar/.tar.gz/.tgz archive under /workspace",
  examples: [["$0 workspace sync push app ./vendor --dest vendor", "copy ./vendor to /workspace/vendor"]],
});
