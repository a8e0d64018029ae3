/** `pyro workspace snapshot list WS`: List a workspace's snapshots. */
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import { operationCommand } from "../../../operation-command.js";

export const list = operationCommand(OPERATIONS.snapshot_list, {
  verb: "list",
  describe: "List a workspace's snapshots",
  examples: [["$0 workspace snapshot list app", "its snapshots"]],
});
