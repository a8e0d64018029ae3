/** `pyro env pull ENV [--force]`: install an environment, showing progress. */
import { environmentJson } from "../../../../sdk/src/json.js";
import type { CommandModule } from "../../context.js";
import { writeJson } from "../../context.js";
import { bytes } from "../../format.js";
import { PullProgressReporter } from "../../progress.js";

interface PullArgs {
  environment: string;
  force: boolean;
}

export const pull: CommandModule<PullArgs> = {
  command: "pull <environment>",
  describe: "Install an environment (from a registry copy, or built from Debian packages), showing progress on stderr",
  builder: (y) =>
    y
      .positional("environment", { type: "string", describe: "Environment to install, e.g. debian:12 (see `pyro env list`)", demandOption: true })
      .option("force", { type: "boolean", default: false, describe: "Reinstall even when a verified copy is cached" })
      .example("$0 env pull debian:12-build", "install the build environment before first use"),
  async handler({ ctx, json, environment, force }) {
    const progress = new PullProgressReporter(ctx.io.stderr);
    try {
      const env = await (await ctx.client()).environments.pull(environment, { force, signal: ctx.io.signal, onProgress: (p) => progress.update(p) });
      progress.stop();
      if (json) writeJson(ctx.io, environmentJson(env));
      else {
        const size = env.manifest ? `, ${bytes(env.manifest.sizeBytes)}` : "";
        const where = env.manifest ? ` at ${env.manifest.path}` : "";
        ctx.io.stdout.write(`installed ${env.name} (version ${env.version}${size})${where}\n`);
      }
    } finally {
      progress.stop();
    }
  },
};
