/** `pyro workspace file read WS PATH`: a text file's content, as it is, on stdout. */
import { OPERATIONS } from "../../../../../sdk/src/operations.js";
import type { WorkspaceFileContent } from "../../../../../sdk/src/workspace-types.js";
import { operationCommand } from "../../../operation-command.js";

export const read = operationCommand<WorkspaceFileContent>(OPERATIONS.workspace_file_read, {
  verb: "read",
  describe: "Print a text file under /workspace (its first --max-bytes)",
  examples: [
    ["$0 workspace file read app src/main.py", "print the file"],
    ["$0 workspace file read app big.log --max-bytes 1048576", "up to 1 MiB of it"],
  ],
  human: ({ result, io }) => {
    io.stdout.write(result.content);
    if (result.truncated) io.stderr.write(`pyro: showed the first ${Buffer.byteLength(result.content)} of ${result.sizeBytes} bytes; raise --max-bytes or use \`pyro workspace export\`\n`);
  },
});
