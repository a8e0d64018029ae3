/** `pyro doctor`: what each backend needs, and which backend runs sandboxes by default. */
import { doctorReportJson } from "../../../sdk/src/json.js";
import type { DoctorReport } from "../../../sdk/src/types.js";
import type { CommandModule } from "../context.js";
import { writeJson } from "../context.js";
import { table } from "../format.js";

export function formatDoctor(r: DoctorReport): string {
  const rows: string[][] = [];
  for (const c of r.checks) {
    rows.push([c.status, c.name, c.detail]);
    if (c.hint && c.status !== "ok") rows.push(["", "", `fix: ${c.hint}`]);
  }
  let out = rows.length ? table(rows) : "no checks reported\n";
  out += `default backend: ${r.defaultBackend || "none (no backend can run sandboxes here)"}\n`;
  out += `available backends: ${r.availableBackends.join(", ") || "none"}\n`;
  out += `state dir: ${r.stateDir}\ncache dir: ${r.cacheDir}\n`;
  return out;
}

export const doctor: CommandModule = {
  command: "doctor",
  describe: "Check what each backend needs and show which one runs sandboxes (exit status 1 when none can)",
  builder: (y) => y.example("$0 doctor", "what each backend needs, and which one runs sandboxes"),
  async handler({ ctx, json }) {
    const report = await (await ctx.client()).doctor({ signal: ctx.io.signal });
    if (json) writeJson(ctx.io, doctorReportJson(report));
    else ctx.io.stdout.write(formatDoctor(report));
    ctx.exitCode = report.defaultBackend ? 0 : 1;
  },
};
