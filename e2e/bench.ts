/**
 * `npm run bench`: what a user waits for, against floors measured in the same run.
 *
 * Floors:
 *   node -e 0                         — the cost of starting any Node CLI
 *   bwrap … true                      — the cost of a bare sandbox (also started through sh -c, as from a shell)
 *   head -c 64M /dev/zero | this      — a local pipe
 *   one gRPC hop                      — an in-process Connect server on a Unix socket streaming 64 MiB
 *   git apply                         — the same patch to the same tree in a local directory
 * Runs:
 *   pyro run debian:12 -- true        — the whole CLI process, manager already running,
 *                                       back to back and 300 ms apart (pool refilled)
 *   SDK run("debian:12", ["true"])    — one client call, in-process
 *   head -c 64M through pyro run      — sandbox pipe → agent → manager → CLI → pipe, less a bare run
 * Workspaces (SDK, see e2e/bench/): time to first command, exec round trip, a 64 KiB file read,
 * a 64 MiB export, a 50-file patch, a reset of a 100 MiB baseline, memory per idle workspace,
 * exec output throughput; each printed with its aim, its floor measured right before it, and
 * where it helps, its stages timed apart (a creation's from the manager's debug log).
 *
 * PYRO_BENCH_N (default 30) scales every count; PYRO_BENCH_THROUGHPUT_N (default 7) the 64 MiB
 * runs. The environment cache is PYRO_CACHE_DIR, else PYRO_E2E_CACHE, else the manager's default.
 * Prints medians and p95s and the ratios; asserts nothing (timings are not tests). Every
 * workspace it makes is deleted before it ends.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Pyro } from "../sdk/src/index.js";
import { benchPatchEngine } from "../host/src/patch/patch-bench.js";
import { BENCH_ENV, BenchWorkspaces } from "./bench/bench-workspaces.js";
import { grpcStreamMs } from "./bench/grpc-stream-floor.js";
import { pipeMs, timeCommand } from "./bench/processes.js";
import { aimNote, mbps, row, stats, timeRuns, type Stats } from "./bench/stats.js";
import { describeCpu } from "./bench/cpu-time.js";
import { IdleWorkspaces, SETTLE_MS, total, type MemorySample } from "./bench/workspace-memory.js";
import { execRoundTrip, patchApply, readFile64k, resetFigure, timeToFirstCommand } from "./bench/workspace-latency.js";
import { execOutput, exportFigure } from "./bench/workspace-throughput.js";
import { createStages } from "./bench/sandbox-steps.js";
import { defaultLogPath } from "../sdk/src/contract/paths.js";

const ROOT = resolve(import.meta.dirname, "..");
const PYRO = join(ROOT, "dist", "pyro.mjs");
const N = Math.max(1, Number(process.env.PYRO_BENCH_N || 30));
const WARMUP = 3;
const THROUGHPUT_BYTES = 64 << 20;
const THROUGHPUT_N = Math.max(1, Number(process.env.PYRO_BENCH_THROUGHPUT_N || 7));
/** Runs of what takes a sandbox or more each (creations, resets). */
const HEAVY_N = Math.max(3, Math.ceil(N / 4));
const TTFC_N = Math.max(5, Math.ceil(N / 3));
const EXPORT_FILES = 64;
const PATCH_FILES = 50;
const RESET_MIB = 100;
const IDLE_WORKSPACES = 3;
const MiB = 1 << 20;
const BWRAP = ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"];

const step = (what: string) => console.error(`measuring: ${what}`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pyro-bench-"));
  chmodSync(dir, 0o711);
  const scratch = join(dir, "scratch");
  mkdirSync(scratch);
  const socketPath = join(dir, "state", "manager.sock");
  const stateDir = join(dir, "state");
  const cacheDir = process.env.PYRO_CACHE_DIR || process.env.PYRO_E2E_CACHE;
  const env = { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_MANAGER_SOCKET: socketPath, ...(cacheDir ? { PYRO_CACHE_DIR: cacheDir } : {}) };
  // Debug logging gives the steps of each sandbox start (a few lines each): where a creation's time goes.
  const managerEnv = { ...env, PYRO_DEBUG: "1" };
  const loadBefore = load();
  const manager = spawn(process.execPath, [PYRO, "manager", "serve", "--socket", socketPath], { env: managerEnv, stdio: "ignore" });
  const sdk = new Pyro({ socketPath, autoStart: false });
  const ws = new BenchWorkspaces(sdk, { pid: manager.pid ?? 0, stateDir });
  try {
    for (let i = 0; i < 400 && !existsSync(socketPath); i++) await new Promise((r) => setTimeout(r, 25));
    console.log(`preparing: pyro env pull ${BENCH_ENV} (builds it once if it is not cached)`);
    const pull = spawnSync(process.execPath, [PYRO, "env", "pull", BENCH_ENV], { env, stdio: "inherit" });
    if (pull.status !== 0) throw new Error(`pyro env pull ${BENCH_ENV} failed`);

    step("floors (node -e 0, bwrap, a pipe)");
    const node = stats(await timeCommand([process.execPath, "-e", "0"], env, N, WARMUP));
    const bwrap = stats(await timeCommand(BWRAP, env, N, WARMUP));
    const head = ["head", "-c", String(THROUGHPUT_BYTES), "/dev/zero"];
    const pipeMBs = mbps(THROUGHPUT_BYTES, await pipeMs(head, env, THROUGHPUT_BYTES, THROUGHPUT_N));

    step("pyro run and SDK run");
    const cliArgv = [process.execPath, PYRO, "run", BENCH_ENV, "--", "true"];
    const cli = stats(await timeCommand(cliArgv, env, N, WARMUP));
    // As a person types: the previous run's sandbox has been replaced in the pool by then.
    const cliSpaced = stats(await timeCommand(cliArgv, env, N, WARMUP, 300));
    const sdkRun = stats(
      await timeRuns(N, WARMUP, async () => {
        if ((await sdk.run(BENCH_ENV, ["true"])).exitCode !== 0) throw new Error("sdk run failed");
      }),
    );
    const pyroRunMBs = mbps(THROUGHPUT_BYTES, (await pipeMs([process.execPath, PYRO, "run", BENCH_ENV, "--", ...head], env, THROUGHPUT_BYTES, THROUGHPUT_N)) - cli.median);

    step(`workspaces: ${IDLE_WORKSPACES} idle workspaces, left alone while the other figures run (memory)`);
    const idle = await IdleWorkspaces.start(ws, stateDir, IDLE_WORKSPACES);
    // Each workspace figure's floor is measured right before it: the load of this host drifts.
    step(`workspaces: time to first command (${TTFC_N} runs), and its floor (bwrap through sh -c)`);
    const bwrapSh = stats(await timeCommand(["sh", "-c", BWRAP.join(" ")], env, N, WARMUP));
    const ttfc = await timeToFirstCommand(ws, TTFC_N, 1);
    const memorySoon = await idle.measure(2000);
    step("workspaces: exec round trip, file read, exec output");
    const running = await ws.create();
    const rttParts = await execRoundTrip(ws, running.workspaceId, N, WARMUP);
    const rtt = stats(rttParts.total);
    const read = stats(await readFile64k(ws, running.workspaceId, N, WARMUP));
    const pipeBesideExec = mbps(THROUGHPUT_BYTES, await pipeMs(head, env, THROUGHPUT_BYTES, THROUGHPUT_N));
    const execOutRuns = await execOutput(ws, running, THROUGHPUT_BYTES, THROUGHPUT_N);
    const execOut = stats(execOutRuns.ms);
    await ws.delete(running.workspaceId);
    step(`workspaces: export of ${EXPORT_FILES} × 1 MiB, and its floor (one gRPC hop)`);
    const grpc = stats(await grpcStreamMs(scratch, THROUGHPUT_BYTES, 64 << 10, THROUGHPUT_N));
    const exp = await exportFigure(ws, scratch, socketPath, EXPORT_FILES, THROUGHPUT_N);
    step(`workspaces: ${PATCH_FILES}-file patch`);
    const patch = await patchApply(ws, scratch, PATCH_FILES, N, WARMUP);
    const engine = await benchPatchEngine({ files: PATCH_FILES, runs: N, print: false });
    step(`workspaces: reset of a ${RESET_MIB} MiB baseline (${HEAVY_N} runs)`);
    const reset = await resetFigure(ws, scratch, RESET_MIB, HEAVY_N, 1);
    step("workspaces: memory of the idle workspaces, settled");
    const memorySettled = await idle.measure(SETTLE_MS);
    await idle.delete();

    const s = (ms: number[]): Stats => stats(ms);
    console.log(`\nload average before: ${loadBefore}, after: ${load()} (1, 5, 15 min; ${availableParallelism()} cores)`);
    console.log(`${N} runs each (after ${WARMUP} warm-up runs) unless said, manager already running, namespace backend`);
    console.log("\nfloors");
    console.log(row("node -e 0", node));
    console.log(row("bwrap --unshare-all … true", bwrap));
    console.log(row("  the same, through sh -c", bwrapSh));
    console.log(row(`one gRPC hop, ${THROUGHPUT_BYTES / MiB} MiB in 64 KiB chunks`, grpc, `${mbps(THROUGHPUT_BYTES, grpc.median).toFixed(0)} MB/s`));
    console.log(`local pipe, ${THROUGHPUT_BYTES / MiB} MiB from head -c: ${pipeMBs.toFixed(0)} MB/s; again beside 8.: ${pipeBesideExec.toFixed(0)} MB/s (medians of ${THROUGHPUT_N})`);

    console.log("\nruns");
    console.log(row("pyro run debian:12 -- true", cli));
    console.log(row("  the same, 300 ms apart", cliSpaced));
    console.log(row("SDK run(debian:12, [true])", sdkRun));
    console.log(`ratio pyro run / node -e 0:        ${(cli.median / node.median).toFixed(2)}x back to back, ${aimNote(cliSpaced.median / node.median, { op: "<=", value: 2.5, unit: "x" })} 300 ms apart`);
    console.log(`ratio pyro run / bare bwrap:       ${(cli.median / bwrap.median).toFixed(2)}x`);
    console.log(`ratio SDK run / bare bwrap:        ${(sdkRun.median / bwrap.median).toFixed(2)}x`);
    console.log(`output through pyro run (less a run): ${pyroRunMBs.toFixed(0)} MB/s, ${aimNote((100 * pyroRunMBs) / pipeMBs, { op: ">=", value: 20, unit: "%" })} of the pipe`);

    console.log("\nworkspaces (SDK)");
    const ttfcS = s(ttfc.total);
    console.log(row(`1. create + exec echo (${TTFC_N} runs)`, ttfcS, `${aimNote(ttfcS.median / bwrapSh.median, { op: "<=", value: 2, unit: "x" })} of bwrap through sh -c`));
    console.log(row("     of which createWorkspace", s(ttfc.create)));
    console.log(row("     of which the first execWorkspace", s(ttfc.firstExec)));
    const stages = createStages(defaultLogPath(env, stateDir), ttfc.creates);
    for (const [label, ms] of stages) if (ms.length > 0) console.log(row(`       create: ${label}`, s(ms)));
    console.log(row("2. exec round trip (true)", rtt, aimNote(rtt.median, { op: "<=", value: 5, unit: " ms" })));
    console.log(row("     until its started event", s(rttParts.untilStarted)));
    console.log(row("     from then to the answer", s(rttParts.afterStarted)));
    console.log(row("     the command ran (its durationMs)", s(rttParts.ran)));
    console.log(row("3. readWorkspaceFile 64 KiB", read, `${(read.median / rtt.median).toFixed(2)}x an exec round trip`));
    const expS = s(exp.sdk);
    const expMBs = mbps(EXPORT_FILES * MiB, expS.median);
    const grpcMBs = mbps(THROUGHPUT_BYTES, grpc.median);
    console.log(row(`4. export ${EXPORT_FILES} × 1 MiB to a host dir`, expS, `${expMBs.toFixed(0)} MB/s, ${aimNote((100 * expMBs) / grpcMBs, { op: ">=", value: 50, unit: "%" })} of one gRPC hop`));
    console.log(row("     its tar stream read raw (no extraction)", s(exp.raw), `${mbps(exp.tarBytes, s(exp.raw).median).toFixed(0)} MB/s of ${(exp.tarBytes / MiB).toFixed(1)} MiB of tar`));
    console.log(row("     tar of it inside the sandbox (exec)", s(exp.tarInSandbox)));
    console.log(`     CPU per export: ${describeCpu(exp.cpu, THROUGHPUT_N)}`);
    const patchWs = s(patch.workspace);
    const git = s(patch.git);
    console.log(row(`5. applyWorkspacePatch, ${PATCH_FILES} files`, patchWs, `${aimNote(patchWs.median / git.median, { op: "<=", value: 3, unit: "x" })} of git apply`));
    console.log(row("     git apply, same patch, local tree", git, `${patch.patchBytes} bytes of patch`));
    console.log(row("     engine alone: parse + preflight", engine.engine));
    console.log(row("     engine alone: read, preflight, write", engine.engineWithFiles));
    console.log(`     CPU per workspace apply (forward and reverse alike): ${describeCpu(patch.cpu, 2 * N)}`);
    const resetS = s(reset.reset);
    console.log(row(`6. reset, ${RESET_MIB} MiB baseline (${HEAVY_N} runs)`, resetS, aimNote(resetS.median / 1000, { op: "<", value: 1, unit: " s" })));
    console.log(row(`     push of the same ${RESET_MIB} MiB (a tar)`, s(reset.push)));
    console.log(row("     tar -xf of it inside the sandbox (exec)", s(reset.tarInSandbox)));
    console.log(row("     createWorkspace, no seed (from 1.)", s(ttfc.create)));
    console.log(`     CPU per reset: ${describeCpu(reset.cpu, HEAVY_N)} (the sandboxes' own not followed: each reset makes a new one)`);
    console.log(`     createWorkspace seeded from ${RESET_MIB} MiB: ${reset.seededCreateMs.toFixed(0)} ms; its deleteWorkspace: ${reset.deleteMs.toFixed(0)} ms (one run each)`);
    const mib = (b: number) => (b / MiB).toFixed(1);
    const medianOf = (v: number[]) => (v.length ? stats(v).median : NaN);
    // "Keep it where a pooled sandbox is (~16 MiB)": against a pooled sandbox measured the same way at the same moment, else 16 MiB.
    const memNote = (m: MemorySample) => {
      const mine = medianOf(m.workspaces.map(total));
      const pool = m.pooled.length ? medianOf(m.pooled.map(total)) : 16 * MiB;
      return `${mib(mine)} MiB, ${aimNote(mine / pool, { op: "<=", value: 1.1, unit: "x" })} of a pooled sandbox (${mib(pool)} MiB${m.pooled.length ? "" : ": none was idle, the figure of record"})`;
    };
    console.log(`7. memory per idle workspace (USS + kmem), median of ${IDLE_WORKSPACES}:`);
    for (const [what, m] of [["soon after its command", memorySoon], ["settled", memorySettled]] as const) {
      console.log(`     ${what} (idle ${(m.idleMs / 1000).toFixed(0)} s): ${memNote(m)}`);
      for (const [kind, list] of [["workspace", m.workspaces], ["pooled", m.pooled]] as const) {
        for (const x of list) {
          console.log(`       ${kind} ${x.sandboxId}: USS ${mib(x.uss)} MiB + kmem ${x.kmem === undefined ? "n/a" : `${mib(x.kmem)} MiB`} (cgroup charge ${x.cgroupUsage === undefined ? "n/a" : `${mib(x.cgroupUsage)} MiB`}, ${x.pids.length} processes)`);
        }
      }
    }
    const execMBs = mbps(THROUGHPUT_BYTES, execOut.median - rtt.median);
    console.log(row(`8. exec head -c ${THROUGHPUT_BYTES / MiB}M (median of ${THROUGHPUT_N})`, execOut, `${execMBs.toFixed(0)} MB/s less a round trip, ${aimNote((100 * execMBs) / pipeBesideExec, { op: ">=", value: 20, unit: "%" })} of the pipe`));
    console.log(`     CPU per run: ${describeCpu(execOutRuns.cpu, THROUGHPUT_N)}`);
    console.log(`     its output came in ${execOutRuns.chunks} chunks of ${(THROUGHPUT_BYTES / execOutRuns.chunks / 1024).toFixed(1)} KiB on average; one gRPC hop (64 KiB chunks) alone: ${((100 * grpcMBs) / pipeBesideExec).toFixed(1)}% of the pipe`);
  } finally {
    await ws.deleteAll();
    sdk.close();
    if (manager.exitCode === null && manager.signalCode === null) {
      manager.kill("SIGTERM");
      await new Promise((r) => manager.once("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
