/** Installs debian:12 into the shared e2e cache once, through the real CLI and a real manager. */
import { pyro, startManager } from "./harness.js";

export default async function setup(): Promise<void> {
  const m = await startManager();
  try {
    const t0 = Date.now();
    const r = pyro(["env", "pull", "debian:12"], m.env);
    if (r.status !== 0) throw new Error(`pyro env pull debian:12 failed (${r.status}): ${r.stderr}`);
    process.stderr.write(`[e2e] debian:12 ready in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
  } finally {
    await m.stop();
  }
}
