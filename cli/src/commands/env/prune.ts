/** `pyro env prune [--all]`: remove half-built, corrupt and outdated environment copies; copies in use are kept and listed. */
import { pruneResultJson } from "../../../../sdk/src/json.js";
import type { CommandModule } from "../../context.js";
import { writeJson } from "../../context.js";
import { bytes } from "../../format.js";

export const prune: CommandModule<{ all: boolean }> = {
  command: "prune",
  describe: "Remove half-built, corrupt and outdated environment copies",
  builder: (y) =>
    y
      .option("all", { type: "boolean", default: false, describe: "Also remove verified, current copies (they are installed again when needed)" })
      .example("$0 env prune", "remove half-built, corrupt and outdated copies"),
  async handler({ ctx, json, all }) {
    const r = await (await ctx.client()).environments.prune({ all, signal: ctx.io.signal });
    if (json) {
      writeJson(ctx.io, pruneResultJson(r));
      return;
    }
    for (const p of r.removedPaths) ctx.io.stdout.write(`removed ${p}\n`);
    for (const k of r.kept) ctx.io.stdout.write(`kept ${k.path}: ${k.reason}\n`);
    ctx.io.stdout.write(`freed ${bytes(r.freedBytes)} (${r.removedPaths.length} path${r.removedPaths.length === 1 ? "" : "s"})\n`);
  },
};
