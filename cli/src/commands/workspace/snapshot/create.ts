/** `pyro workspace snapshot create WS NAME`: Keep a named copy of /workspace to reset to. */
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import { operationCommand } from "../../../operation-command.js";

export const create = operationCommand(OPERATIONS.snapshot_create, {
  verb: "create",
  describe: "Keep a named copy of /workspace to reset to",
  examples: [["$0 workspace snapshot create app before-upgrade", "snapshot before a risky change"]],
});
