/** `pyro env list`: the environment catalog and what is installed. */
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import type { EnvironmentInfo } from "../../../../sdk/src/types.js";
import { table, yesNo } from "../../format.js";
import { operationCommand } from "../../operation-command.js";

export const list = operationCommand<EnvironmentInfo[]>(OPERATIONS.vm_list_environments, {
  verb: "list",
  examples: [
    ["$0 env list", "show the catalog"],
    ["$0 env list --json", "the catalog as JSON"],
  ],
  human: ({ result, io }) => {
    const rows = [["NAME", "INSTALLED", "VERSION", "DESCRIPTION"], ...result.map((e) => [e.name, yesNo(e.installed), e.version, e.description])];
    io.stdout.write(table(rows));
  },
});
