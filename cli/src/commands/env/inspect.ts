/** `pyro env inspect ENV`: one environment and, when installed, its manifest. */
import { environmentJson } from "../../../../sdk/src/json.js";
import type { EnvironmentInfo } from "../../../../sdk/src/types.js";
import type { CommandModule } from "../../context.js";
import { writeJson } from "../../context.js";
import { bytes, table, yesNo } from "../../format.js";

export function formatEnvironment(e: EnvironmentInfo): string {
  const rows = [
    ["name:", e.name],
    ["version:", e.version],
    ["description:", e.description],
    ["installed:", yesNo(e.installed)],
    ["packages:", e.packages.join(" ") || "-"],
  ];
  const m = e.manifest;
  if (m) {
    rows.push(
      ["path:", m.path],
      ["rootfs digest:", m.rootfsDigest],
      ["size:", bytes(m.sizeBytes)],
      ["package count:", String(m.packageCount)],
      ["created at:", m.createdAt],
      ["source:", m.source],
      ["mirror:", m.mirror],
    );
  }
  return table(rows);
}

export const inspect: CommandModule<{ environment: string }> = {
  command: "inspect <environment>",
  describe: "Describe an environment and, when installed, its manifest",
  builder: (y) =>
    y.positional("environment", { type: "string", describe: "Environment name, e.g. debian:12", demandOption: true }).example("$0 env inspect debian:12 --json", "its manifest as JSON"),
  async handler({ ctx, json, environment }) {
    const env = await (await ctx.client()).environments.inspect(environment, { signal: ctx.io.signal });
    if (json) writeJson(ctx.io, environmentJson(env));
    else ctx.io.stdout.write(formatEnvironment(env));
  },
};
