/** `pyro workspace exec WS [flags] -- CMD…`: one command in /workspace, output streamed live, the command's exit status. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import type { ExecWorkspaceResult } from "../../../../sdk/src/workspace-types.js";
import { operationCommand } from "../../operation-command.js";
import { exitStatus } from "../run.js";

/** The exit status `pyro workspace exec` ends with: the command's, 124 when its timeout ended it (as `timeout(1)` does). */
export function execExitStatus(r: ExecWorkspaceResult): number {
  return r.timedOut ? 124 : exitStatus(r);
}

export const exec = operationCommand<ExecWorkspaceResult>(OPERATIONS.workspace_exec, {
  verb: "exec",
  describe: "Run one command in a workspace's /workspace, stream its output, and exit with the command's status",
  streamOutput: true,
  examples: [
    ["$0 workspace exec app -- make test", "run the tests (words after -- keep their boundaries)"],
    ["$0 workspace exec app --timeout-seconds 300 -- make all", "allow five minutes"],
    ["$0 workspace exec app -- sh -c 'make test > test.log 2>&1'", "use a shell for pipes and redirections"],
  ],
  human: ({ result, io }) => {
    if (result.timedOut) io.stderr.write(`pyro: the command timed out after ${result.durationMs} ms; its process group was killed\n`);
  },
  exitCode: execExitStatus,
});
