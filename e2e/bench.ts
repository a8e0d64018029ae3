/**
 * `npm run bench`: what a user waits for, against floors measured in the same run.
 *   node -e 0                         — the cost of starting any Node CLI
 *   bwrap … true                      — the cost of a bare sandbox
 *   pyro run debian:12 -- true        — the whole CLI process, manager already running,
 *                                       back to back and 300 ms apart (pool refilled)
 *   SDK run("debian:12", ["true"])    — one client call, in-process
 *   head -c 64M /dev/zero             — output throughput: through a local pipe into this
 *                                       process, and through `pyro run` (sandbox pipe → agent
 *                                       → manager → CLI → pipe), less the cost of a bare run
 * Prints medians and p95s and the ratios; asserts nothing (timings are not tests).
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Pyro } from "../sdk/src/index.js";

const ROOT = resolve(import.meta.dirname, "..");
const PYRO = join(ROOT, "dist", "pyro.mjs");
const N = Number(process.env.PYRO_BENCH_N || 30);
const WARMUP = 3;

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p95: at(0.95) };
}

async function timeCommand(argv: string[], env: NodeJS.ProcessEnv, pauseMs = 0): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
    const dt = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
    if (i >= WARMUP) out.push(dt);
  }
  return out;
}

/** Runs `argv` with stdout piped into this process; resolves with the bytes read and the milliseconds it took. */
function timePipe(argv: string[], env: NodeJS.ProcessEnv): Promise<{ bytes: number; ms: number }> {
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "ignore"] });
    let bytes = 0;
    child.stdout!.on("data", (d: Buffer) => (bytes += d.length));
    child.once("error", fail);
    child.once("close", (code) => (code === 0 ? ok({ bytes, ms: performance.now() - t0 }) : fail(new Error(`${argv.join(" ")} exited ${code}`))));
  });
}

const THROUGHPUT_BYTES = 64 << 20;
const THROUGHPUT_N = Number(process.env.PYRO_BENCH_THROUGHPUT_N || 7);

/** Median MB/s of `argv` writing THROUGHPUT_BYTES to this process, less `baseMs` of fixed cost per run. */
async function throughput(argv: string[], env: NodeJS.ProcessEnv, baseMs = 0): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 1 + THROUGHPUT_N; i++) {
    const r = await timePipe(argv, env);
    if (r.bytes !== THROUGHPUT_BYTES) throw new Error(`${argv.join(" ")} wrote ${r.bytes} bytes, not ${THROUGHPUT_BYTES}`);
    if (i > 0) ms.push(r.ms);
  }
  return THROUGHPUT_BYTES / 1e6 / ((stats(ms).median - baseMs) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pyro-bench-"));
  chmodSync(dir, 0o711);
  const socketPath = join(dir, "state", "manager.sock");
  const env = { ...process.env, PYRO_STATE_DIR: join(dir, "state"), PYRO_MANAGER_SOCKET: socketPath };
  const manager = spawn(process.execPath, [PYRO, "manager", "serve", "--socket", socketPath], { env, stdio: "ignore" });
  try {
    for (let i = 0; i < 400 && !existsSync(socketPath); i++) await new Promise((r) => setTimeout(r, 25));
    console.log("preparing: pyro env pull debian:12 (builds it once if it is not cached)");
    const pull = spawnSync(process.execPath, [PYRO, "env", "pull", "debian:12"], { env, stdio: "inherit" });
    if (pull.status !== 0) throw new Error("pyro env pull debian:12 failed");

    const node = stats(await timeCommand([process.execPath, "-e", "0"], env));
    const bwrap = stats(await timeCommand(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"], env));
    const cliArgv = [process.execPath, PYRO, "run", "debian:12", "--", "true"];
    const cli = stats(await timeCommand(cliArgv, env));
    // As a person types: the previous run's sandbox has been replaced in the pool by then.
    const cliSpaced = stats(await timeCommand(cliArgv, env, 300));
    const sdk = new Pyro({ socketPath, autoStart: false });
    const sdkTimes: number[] = [];
    for (let i = 0; i < WARMUP + N; i++) {
      const t0 = performance.now();
      const r = await sdk.run("debian:12", ["true"]);
      const dt = performance.now() - t0;
      if (r.exitCode !== 0) throw new Error("sdk run failed");
      if (i >= WARMUP) sdkTimes.push(dt);
    }
    sdk.close();
    const sdkStats = stats(sdkTimes);

    const head = ["head", "-c", String(THROUGHPUT_BYTES), "/dev/zero"];
    const pipeMBs = await throughput(head, env);
    const pyroMBs = await throughput([process.execPath, PYRO, "run", "debian:12", "--", ...head], env, cli.median);

    const row = (name: string, s: { median: number; p95: number }) => console.log(`${name.padEnd(34)} median ${s.median.toFixed(1).padStart(7)} ms   p95 ${s.p95.toFixed(1).padStart(7)} ms`);
    console.log(`\n${N} runs each (after ${WARMUP} warm-up runs), manager already running, namespace backend`);
    row("node -e 0", node);
    row("bwrap --unshare-all … true", bwrap);
    row("pyro run debian:12 -- true", cli);
    row("  the same, 300 ms apart", cliSpaced);
    row("SDK run(debian:12, [true])", sdkStats);
    console.log(`\nratio pyro run / node -e 0:        ${(cli.median / node.median).toFixed(2)}x back to back, ${(cliSpaced.median / node.median).toFixed(2)}x 300 ms apart (aim: <= 2.5x)`);
    console.log(`ratio pyro run / bare bwrap:        ${(cli.median / bwrap.median).toFixed(2)}x`);
    console.log(`ratio SDK run / bare bwrap:         ${(sdkStats.median / bwrap.median).toFixed(2)}x`);
    console.log(`\noutput throughput, ${THROUGHPUT_BYTES >> 20} MiB from head -c, median of ${THROUGHPUT_N}:`);
    console.log(`  through a local pipe:             ${pipeMBs.toFixed(0).padStart(6)} MB/s`);
    console.log(`  through pyro run (less a run):    ${pyroMBs.toFixed(0).padStart(6)} MB/s   ${((100 * pyroMBs) / pipeMBs).toFixed(1)}% of the pipe (aim: >= 20%)`);
  } finally {
    manager.kill("SIGTERM");
    await new Promise((r) => manager.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
