/** `pyro env list`: the environment catalog and what is installed. */
import { environmentListJson } from "../../../../sdk/src/json.js";
import { OPERATIONS } from "../../../../sdk/src/operations.js";
import type { CommandModule } from "../../context.js";
import { writeJson } from "../../context.js";
import { table, yesNo } from "../../format.js";

export const list: CommandModule = {
  command: "list",
  describe: OPERATIONS.vm_list_environments.description,
  builder: (y) => y,
  async handler({ ctx, json }) {
    const envs = await (await ctx.client()).environments.list({ signal: ctx.io.signal });
    if (json) {
      writeJson(ctx.io, environmentListJson(envs));
      return;
    }
    const rows = [["NAME", "INSTALLED", "VERSION", "DESCRIPTION"], ...envs.map((e) => [e.name, yesNo(e.installed), e.version, e.description])];
    ctx.io.stdout.write(table(rows));
  },
};
