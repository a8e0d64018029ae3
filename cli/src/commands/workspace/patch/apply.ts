/** `pyro workspace patch apply WS (--patch TEXT | --patch-file PATH)`: a unified diff, all or nothing. */
import { PyroError } from "../../../../../sdk/src/errors.js";
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import type { PatchFileResultInfo } from "../../../../../sdk/src/workspace-types.js";
import type { CliIo } from "../../../io.js";
import { operationCommand } from "../../../operation-command.js";

/** Every file that did not pass, with the lines that did not match, on stderr. */
function explainConflict(err: unknown, io: CliIo): void {
  if (!(err instanceof PyroError) || !Array.isArray(err.data.files)) return;
  for (const f of err.data.files as PatchFileResultInfo[]) {
    if (f.status === "ok") continue;
    io.stderr.write(`${f.status}: ${f.path}${f.conflictHunk ? ` hunk ${f.conflictHunk}` : ""}${f.message ? `: ${f.message}` : ""}\n`);
    for (const l of f.expectedLines) io.stderr.write(`  expected: ${l}\n`);
    for (const l of f.actualLines) io.stderr.write(`  found:    ${l}\n`);
  }
}

export const apply = operationCommand(OPERATIONS.workspace_patch_apply, {
  verb: "apply",
  describe: "Apply a unified diff to /workspace: every hunk must match, or nothing is written",
  examples: [
    ["$0 workspace patch apply app --patch-file fix.diff", "apply a diff from a host file"],
    ['$0 workspace patch apply app --patch="$(git diff)"', "apply your working tree's changes (--patch=… keeps a diff that starts with --- a value)"],
  ],
  explainFailure: explainConflict,
});
