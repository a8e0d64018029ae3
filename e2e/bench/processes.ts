/** Timing whole processes: one started again and again, and one whose output is piped into this process. */
import { spawn, spawnSync } from "node:child_process";
import { stats } from "./stats.js";

/** Runs `argv` `warmup + runs` times back to back (optionally `pauseMs` apart); the milliseconds of the last `runs`. */
export async function timeCommand(argv: string[], env: NodeJS.ProcessEnv, runs: number, warmup: number, pauseMs = 0): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
    const dt = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
    if (i >= warmup) out.push(dt);
  }
  return out;
}

/** Runs `argv` with stdout piped into this process; resolves with the bytes read and the milliseconds it took. */
export function timePipe(argv: string[], env: NodeJS.ProcessEnv): Promise<{ bytes: number; ms: number }> {
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "ignore"] });
    let bytes = 0;
    child.stdout!.on("data", (d: Buffer) => (bytes += d.length));
    child.once("error", fail);
    child.once("close", (code) => (code === 0 ? ok({ bytes, ms: performance.now() - t0 }) : fail(new Error(`${argv.join(" ")} exited ${code}`))));
  });
}

/** Median milliseconds of `runs` runs of `argv` (after one warm-up) writing exactly `bytes` into this process. */
export async function pipeMs(argv: string[], env: NodeJS.ProcessEnv, bytes: number, runs: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 1 + runs; i++) {
    const r = await timePipe(argv, env);
    if (r.bytes !== bytes) throw new Error(`${argv.join(" ")} wrote ${r.bytes} bytes, not ${bytes}`);
    if (i > 0) ms.push(r.ms);
  }
  return stats(ms).median;
}
