/**
 * `npm run stress`: real managers under load, killed, and fed a hostile agent. Minutes, not
 * part of `npm test`. Prints every unexpected outcome, latencies, the managers' memory and
 * descriptors before and after each phase and what was left on the host; exits 1 when
 * anything was unexpected or leaked.
 *
 *   load   CLIENTS SDK clients × RUNS runs of a mix (quick, output-heavy, failing, a
 *          timeout, limit breaches, hostile commands, --network), each checked against the
 *          one outcome it must have; p50/p95 per kind.
 *   crash  kill -9 of the manager with runs in flight: they fail with manager_unavailable,
 *          a new manager starts at once on the same socket and state directory, runs
 *          succeed again; what the killed one left (processes, slirp4netns, loop devices,
 *          cgroups, sandbox directories), right after and at the end.
 *   fuzz   a manager whose agent is e2e/fixtures/hostile-agent.ts: its fuzz:* modes
 *          (the random one seeded, seed printed) among honest runs; the manager keeps its
 *          pid and honest runs succeed.
 *
 * Counts: --clients, --runs, --fuzz-runs, … (or PYRO_STRESS_* variables); see --help.
 * The environment cache is PYRO_CACHE_DIR, or one this script keeps in the temp directory.
 */
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Pyro, PyroError } from "../sdk/src/index.js";
import { buildHostileAgent } from "./fixtures/build-hostile-agent.js";
import { prng } from "./fixtures/http2-frames.js";
import { describeTraces, leftAfterKill, listTraces, sandboxCgroupParents, SandboxIdWatcher, traces, type Traces } from "./stress/host-traces.js";
import { clientPlan, describeOutcome, mismatch, runKinds, type Expected, type Outcome, type RunKind } from "./stress/load-mix.js";
import { ManagerProcess, type ManagerSample } from "./stress/manager-process.js";
import { failureTable, latencyTable, type RunRecord } from "./stress/tally.js";

const ROOT = resolve(import.meta.dirname, "..");
const PYRO = join(ROOT, "dist", "pyro.mjs");
const ENV = "debian:12";

const OPTIONS = {
  clients: { env: "PYRO_STRESS_CLIENTS", default: 20, help: "concurrent SDK clients of the load" },
  runs: { env: "PYRO_STRESS_RUNS", default: 25, help: "runs per load client" },
  heavy: { env: "PYRO_STRESS_HEAVY", default: 2, help: "fork loops at once (each holds up to 1024 pids; the host's pid_max is shared)" },
  "crash-clients": { env: "PYRO_STRESS_CRASH_CLIENTS", default: 8, help: "clients with runs in flight when the manager is killed" },
  "crash-after-ms": { env: "PYRO_STRESS_CRASH_AFTER_MS", default: 2500, help: "how long those clients run before the kill" },
  "fuzz-runs": { env: "PYRO_STRESS_FUZZ_RUNS", default: 300, help: "runs against the hostile agent (a third of them honest)" },
  "fuzz-clients": { env: "PYRO_STRESS_FUZZ_CLIENTS", default: 4, help: "concurrent clients of the fuzz phase" },
  seed: { env: "PYRO_FUZZ_SEED", default: -1, help: "seed of the load's shuffles and the random fuzz mode (default: a fresh one, printed)" },
  "leftover-wait-ms": { env: "PYRO_STRESS_LEFTOVER_WAIT_MS", default: 30_000, help: "how long after the kill what the killed manager left may take to go" },
  "rss-tolerance-mib": { env: "PYRO_STRESS_RSS_TOLERANCE_MIB", default: 64, help: "RSS growth over a phase that counts as a leak" },
} as const;
type NumberOption = keyof typeof OPTIONS;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(Object.keys(OPTIONS).map((k) => [k, { type: "string" as const }])),
      phases: { type: "string", default: process.env.PYRO_STRESS_PHASES ?? "load,crash,fuzz" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run stress -- [--phases load,crash,fuzz] [--keep] " + Object.keys(OPTIONS).map((k) => `[--${k} N]`).join(" "));
    for (const [k, o] of Object.entries(OPTIONS)) console.log(`  --${k.padEnd(18)} ${o.help} (${o.env}, default ${o.default})`);
    console.log("  --keep               keep the temporary state directories");
    process.exit(0);
  }
  const num = (k: NumberOption): number => {
    const raw = (values as Record<string, unknown>)[k] ?? process.env[OPTIONS[k].env];
    const n = raw === undefined || raw === "" ? OPTIONS[k].default : Number(raw);
    if (!Number.isInteger(n) || (n < 0 && k !== "seed")) throw new Error(`--${k} must be a whole number, got ${String(raw)}`);
    return n;
  };
  const seed = num("seed") >= 0 ? num("seed") : Math.floor(Math.random() * 2 ** 31);
  const phases = new Set(String(values.phases).split(",").map((p) => p.trim()));
  for (const p of phases) if (!["load", "crash", "fuzz"].includes(p)) throw new Error(`unknown phase ${p} (load, crash, fuzz)`);
  return {
    clients: num("clients"),
    runs: num("runs"),
    heavy: Math.max(1, num("heavy")),
    crashClients: Math.max(1, num("crash-clients")),
    crashAfterMs: num("crash-after-ms"),
    fuzzRuns: num("fuzz-runs"),
    fuzzClients: Math.max(1, num("fuzz-clients")),
    seed,
    rssToleranceKiB: num("rss-tolerance-mib") * 1024,
    leftoverWaitMs: num("leftover-wait-ms"),
    phases,
    keep: Boolean(values.keep),
  };
}
type Options = ReturnType<typeof parseOptions>;

const log = (line: string) => console.log(line);
const mib = (kib: number) => (kib / 1024).toFixed(1);

/** A counting semaphore. */
function limiter(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Runs `command` through `client`, counting every output byte; never rejects. */
async function timedRun(client: Pyro, command: string[], opts: RunKind["opts"] = {}): Promise<{ ms: number; outcome: Outcome; sandboxId?: string }> {
  let stdoutBytes = 0;
  let stderrBytes = 0;
  let sandboxId: string | undefined;
  const t0 = performance.now();
  try {
    const r = await client.run(ENV, command, {
      ...opts,
      onStarted: (s) => (sandboxId = s.sandboxId),
      onOutput: (stream, data) => {
        if (stream === "stdout") stdoutBytes += data.length;
        else stderrBytes += data.length;
      },
    });
    return { ms: performance.now() - t0, outcome: { exitCode: r.exitCode, stdout: r.stdout, stdoutBytes, stderrBytes }, sandboxId };
  } catch (err) {
    const code = err instanceof PyroError ? err.code : `(not a PyroError: ${err instanceof Error ? err.name : typeof err})`;
    const message = err instanceof Error ? err.message : String(err);
    return { ms: performance.now() - t0, outcome: { code, message, stdout: "", stdoutBytes, stderrBytes }, sandboxId };
  }
}

function record(phase: string, kind: string, ms: number, expected: Expected | Expected[], outcome: Outcome): RunRecord {
  const list = Array.isArray(expected) ? expected : [expected];
  const misses = list.map((e) => mismatch(e, outcome));
  if (misses.some((m) => m === undefined)) return { phase, kind, ms };
  return { phase, kind, ms, failure: { expected: misses.join(" or "), got: describeOutcome(outcome) } };
}

/** A phase's account of one manager: samples before and after, and the leaks found. */
interface ManagerAccount {
  label: string;
  before: ManagerSample;
  after?: ManagerSample;
  leaks: string[];
}

/** A temporary state directory with its own socket, and the environment a manager there gets. */
function stateSetup(base: string, name: string, cacheDir: string, extra: NodeJS.ProcessEnv = {}) {
  const stateDir = join(base, name);
  const socketPath = join(stateDir, "manager.sock");
  const env: NodeJS.ProcessEnv = { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_CACHE_DIR: cacheDir, PYRO_MANAGER_SOCKET: socketPath, ...extra };
  return { stateDir, socketPath, env, pyro: PYRO };
}

/**
 * Waits until a manager's sandboxes and descriptors are at or below `target` (the pool's
 * ready sandboxes, once torn-down ones are gone and the pool refilled) and unchanged for
 * `stableMs`, or until `timeoutMs` passed; then samples it.
 */
async function settle(m: ManagerProcess, stateDir: string, target: { dirs?: number; processes?: number; fds?: number }, o: { stableMs?: number; timeoutMs?: number } = {}): Promise<ManagerSample> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  const pollMs = 250;
  let stable = 0;
  let last = "";
  for (;;) {
    const s = m.sample();
    const t = traces({ managerPid: m.pid, stateDir, parents: [], ids: new Set() });
    const now = `${s.fds}/${t.dirs.length}/${t.processes.length}/${t.loops.length}`;
    const atTarget = t.dirs.length <= (target.dirs ?? Infinity) && t.processes.length <= (target.processes ?? Infinity) && s.fds <= (target.fds ?? Infinity);
    stable = now === last ? stable + pollMs : 0;
    last = now;
    if ((atTarget && stable >= (o.stableMs ?? 500)) || Date.now() > deadline) return s;
    await sleep(pollMs);
  }
}

/**
 * Leaks of a manager that still runs, after it settled: sandbox directories, processes and
 * descriptors past what it had before, helpers or loop devices or cgroups of sandboxes that
 * are gone, and memory growth past the tolerance.
 */
function leaksOf(o: { before: ManagerSample; after: ManagerSample; t0: Traces; t1: Traces; rssToleranceKiB: number }): string[] {
  const leaks: string[] = [];
  const { t0, t1 } = o;
  if (o.after.fds > o.before.fds) leaks.push(`open descriptors ${o.before.fds} → ${o.after.fds}`);
  if (o.after.rssKiB - o.before.rssKiB > o.rssToleranceKiB) leaks.push(`RSS grew ${mib(o.after.rssKiB - o.before.rssKiB)} MiB (tolerance ${mib(o.rssToleranceKiB)} MiB)`);
  if (t1.dirs.length > t0.dirs.length) leaks.push(`sandbox dirs ${t0.dirs.length} → ${t1.dirs.length}: ${t1.dirs.join(" ")}`);
  if (t1.processes.length > t0.processes.length) {
    leaks.push(`sandbox processes ${t0.processes.length} → ${t1.processes.length}: ${t1.processes.map((p) => `${p.pid}(${p.comm})`).join(" ")}`);
  }
  if (t1.slirp.length > 0) leaks.push(`slirp4netns helpers left: ${t1.slirp.map((p) => p.pid).join(" ")}`);
  const live = new Set(t1.dirs);
  const orphanLoops = t1.loops.filter((l) => l.sandbox === undefined || !live.has(l.sandbox));
  if (orphanLoops.length > 0) leaks.push(`loop devices of deleted sandboxes: ${orphanLoops.map((l) => `${l.device} (${l.file})`).join(", ")}`);
  const orphanCgroups = t1.cgroups.filter((c) => !live.has(c.split("/").pop()!));
  if (orphanCgroups.length > 0) leaks.push(`cgroups of deleted sandboxes: ${orphanCgroups.join(" ")}`);
  return leaks;
}

/** The manager's sandbox traces, with cgroups of every sandbox id it was seen to use. */
const tracesOf = (m: ManagerProcess, stateDir: string, parents: string[], w: SandboxIdWatcher) => {
  w.poll();
  return traces({ managerPid: m.pid, stateDir, parents, ids: w.ids });
};

async function pull(socketPath: string): Promise<void> {
  const client = new Pyro({ socketPath, autoStart: false });
  try {
    let lastPhase = "";
    const t0 = Date.now();
    const env = await client.environments.pull(ENV, {
      onProgress: (p) => {
        if (p.phase !== lastPhase) log(`  pull ${ENV}: ${p.phase} ${p.message}`);
        lastPhase = p.phase;
      },
    });
    log(`  ${ENV} ready (${env.name}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } finally {
    client.close();
  }
}

/** The distinct pooled sandbox shapes of `kinds` (sandboxes with --network are made to order). */
function poolShapes(kinds: RunKind[]): RunKind["opts"][] {
  const shapes = new Map<string, RunKind["opts"]>();
  for (const k of kinds.filter((k) => !k.opts?.network)) shapes.set(`${k.opts?.memMib}|${k.opts?.diskMib}|${k.opts?.vcpuCount}`, { memMib: k.opts?.memMib, diskMib: k.opts?.diskMib, vcpuCount: k.opts?.vcpuCount });
  return [...shapes.values()];
}

/** One run of each sandbox shape, so the pool holds its ready sandboxes before anything is measured. */
async function warmUp(socketPath: string, shapes: RunKind["opts"][]): Promise<void> {
  const client = new Pyro({ socketPath, autoStart: false });
  try {
    for (const shape of shapes) {
      const r = await timedRun(client, ["true"], shape);
      if (r.outcome.exitCode !== 0) throw new Error(`warm-up run failed: ${describeOutcome(r.outcome)}`);
    }
  } finally {
    client.close();
  }
}

/** Prints a progress line every 15 s while `work` runs. */
async function withProgress<T>(label: string, progress: () => string, work: Promise<T>): Promise<T> {
  const timer = setInterval(() => log(`  ${label}: ${progress()}`), 15_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** A TCP service on every host address, as a developer's machine has: sandboxes with --network must not reach it. */
async function hostService() {
  const server = createServer((s) => s.on("error", () => {}).end("host-secret\n"));
  server.listen(0, "0.0.0.0");
  await once(server, "listening");
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address);
  return { server, port: (server.address() as { port: number }).port, addresses };
}

interface Context {
  o: Options;
  base: string;
  cacheDir: string;
  records: RunRecord[];
  accounts: ManagerAccount[];
  notes: string[];
  managers: Set<ManagerProcess>;
  parents: string[];
}

async function startManager(ctx: Context, setup: ReturnType<typeof stateSetup>): Promise<ManagerProcess> {
  const m = await ManagerProcess.start(setup);
  ctx.managers.add(m);
  return m;
}

/** Phase 1: CLIENTS × RUNS mixed runs against one manager. Returns it, still running, for the crash phase. */
async function loadPhase(ctx: Context, setup: ReturnType<typeof stateSetup>, kinds: RunKind[]): Promise<ManagerProcess> {
  const { o } = ctx;
  const m = await startManager(ctx, setup);
  log(`\n== load: ${o.clients} clients × ${o.runs} runs, manager pid ${m.pid}`);
  await pull(setup.socketPath);
  await warmUp(setup.socketPath, poolShapes(kinds));
  const watcher = new SandboxIdWatcher(setup.stateDir);
  await settle(m, setup.stateDir, {}, { stableMs: 2_000, timeoutMs: 15_000 });
  const before = m.sample();
  const t0 = tracesOf(m, setup.stateDir, ctx.parents, watcher);
  log(`  before: RSS ${mib(before.rssKiB)} MiB, ${before.fds} fds; ready sandboxes: ${describeTraces(t0)}`);

  const heavy = limiter(o.heavy);
  const rand = prng(o.seed);
  const plans = Array.from({ length: o.clients }, () => clientPlan(kinds, o.runs, rand));
  const records: RunRecord[] = [];
  const started = Date.now();
  const clients = plans.map(async (plan) => {
    const client = new Pyro({ socketPath: setup.socketPath, autoStart: false });
    try {
      for (const kind of plan) {
        const go = () => timedRun(client, kind.command, kind.opts);
        const r = kind.heavy ? await heavy(go) : await go();
        watcher.poll([r.sandboxId ?? ""]);
        records.push(record("load", kind.name, r.ms, kind.expected, r.outcome));
      }
    } finally {
      client.close();
    }
  });
  const total = o.clients * o.runs;
  await withProgress("load", () => `${records.length}/${total} runs, ${records.filter((r) => r.failure).length} unexpected`, Promise.all(clients));
  log(`  ${records.length} runs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${records.filter((r) => r.failure).length} unexpected`);
  ctx.records.push(...records);

  const after = await settle(m, setup.stateDir, { dirs: t0.dirs.length, processes: t0.processes.length, fds: before.fds });
  watcher.stop();
  const t1 = tracesOf(m, setup.stateDir, ctx.parents, watcher);
  log(`  after:  RSS ${mib(after.rssKiB)} MiB, ${after.fds} fds; ready sandboxes: ${describeTraces(t1)}`);
  const leaks = leaksOf({ before, after, t0, t1, rssToleranceKiB: o.rssToleranceKiB });
  ctx.accounts.push({ label: `load (manager ${m.pid})`, before, after, leaks });
  log("\n  kind / runs / unexpected / latency:");
  for (const line of latencyTable(records)) log(line);
  return m;
}

/** What a crash-phase client runs, in turn: one long enough to be in flight, and short ones. */
const CRASH_KINDS: { name: string; command: string[]; opts?: RunKind["opts"]; expected: Expected }[] = [
  { name: "sleep 1; echo", command: ["bash", "-c", "sleep 1; echo slept"], expected: { exit: 0, stdout: "slept\n" } },
  { name: "echo", command: ["echo", "hello"], expected: { exit: 0, stdout: "hello\n" } },
  { name: "network: sleep 1", command: ["bash", "-c", "sleep 1; echo net"], opts: { network: true }, expected: { exit: 0, stdout: "net\n" } },
  { name: "true", command: ["true"], expected: { exit: 0, stdout: "" } },
];
const UNAVAILABLE: Expected = { code: "manager_unavailable" };

/** Phase 2: kill -9 of `m1` with runs in flight; a new manager at once; leftovers. */
async function crashPhase(ctx: Context, setup: ReturnType<typeof stateSetup>, m1: ManagerProcess): Promise<ManagerProcess> {
  const { o } = ctx;
  log(`\n== crash: ${o.crashClients} clients, kill -9 of manager pid ${m1.pid} after ${o.crashAfterMs} ms`);
  const watcher = new SandboxIdWatcher(setup.stateDir);
  const before = m1.sample();
  let killAt = Infinity;
  let readyAt = Infinity;
  const deadline = { at: Infinity };
  const records: RunRecord[] = [];
  let inFlightAtKill = 0;
  let inFlightUnavailable = 0;

  const clients = Array.from({ length: o.crashClients }, async (_, c) => {
    const client = new Pyro({ socketPath: setup.socketPath, autoStart: false });
    let successesAfterReady = 0;
    try {
      for (let i = c; successesAfterReady < 3 && Date.now() < deadline.at; i++) {
        const kind = CRASH_KINDS[i % CRASH_KINDS.length]!;
        const t0 = Date.now();
        const r = await timedRun(client, kind.command, kind.opts);
        const t1 = Date.now();
        watcher.poll([r.sandboxId ?? ""]);
        let expected: Expected | Expected[];
        let name = kind.name;
        if (t0 < killAt && t1 >= killAt) {
          // In flight at the kill. Success only for an answer that left just before.
          inFlightAtKill++;
          if (r.outcome.code === "manager_unavailable") inFlightUnavailable++;
          expected = [UNAVAILABLE, kind.expected];
          name = "in flight at the kill";
        } else if (t0 >= killAt && t0 < readyAt) {
          expected = [UNAVAILABLE, kind.expected];
          name = "between kill and restart";
          if (r.outcome.code === "manager_unavailable") await sleep(50);
        } else {
          expected = kind.expected;
          if (t0 >= readyAt) name = `${kind.name} (new manager)`;
        }
        const rec = record("crash", name, r.ms, expected, r.outcome);
        records.push(rec);
        if (t0 >= readyAt && !rec.failure) successesAfterReady++;
      }
    } finally {
      client.close();
    }
  });

  await sleep(o.crashAfterMs);
  const snapshot = tracesOf(m1, setup.stateDir, ctx.parents, watcher);
  const idsAtKill = new Set([...watcher.ids, ...snapshot.dirs]);
  log(`  at the kill: ${describeTraces(snapshot)}`);
  killAt = Date.now();
  await m1.kill();
  ctx.managers.delete(m1);
  const m2 = await startManager(ctx, setup);
  const probe = new Pyro({ socketPath: setup.socketPath, autoStart: false });
  for (let i = 0; i < 400; i++) {
    const v = await probe.version().catch(() => undefined);
    if (v?.managerPid === m2.pid) break;
    await sleep(25);
  }
  probe.close();
  readyAt = Date.now();
  deadline.at = readyAt + 60_000;
  log(`  killed; new manager pid ${m2.pid} answered ${readyAt - killAt} ms after the kill`);

  // What the killed manager left, once its sandboxes had a moment to end.
  let left = leftAfterKill(snapshot, { stateDir: setup.stateDir, parents: ctx.parents, ids: idsAtKill });
  for (let i = 0; i < 20 && left.processes.length > 0; i++) {
    await sleep(250);
    left = leftAfterKill(snapshot, { stateDir: setup.stateDir, parents: ctx.parents, ids: idsAtKill });
  }
  log(`  left by the killed manager, ${((Date.now() - killAt) / 1000).toFixed(1)} s after the kill: ${describeTraces(left)}`);
  for (const line of listTraces(left)) log(`    ${line}`);

  await withProgress("crash", () => `${records.length} runs, ${records.filter((r) => r.failure).length} unexpected`, Promise.all(clients));
  ctx.records.push(...records);
  log(`  ${records.length} runs; ${inFlightAtKill} in flight at the kill, ${inFlightUnavailable} of them got manager_unavailable; ${records.filter((r) => r.failure).length} unexpected`);
  for (const line of latencyTable(records)) log(line);

  // The new manager's own state, and what is still there of the killed one's.
  const after = await settle(m2, setup.stateDir, { dirs: 1 }, { stableMs: 2_000 });
  // Loop devices detach once their filesystem is written back, and the new manager sweeps cgroups that were too new at its start a little later.
  let finalLeft = leftAfterKill(snapshot, { stateDir: setup.stateDir, parents: ctx.parents, ids: idsAtKill });
  for (const until = killAt + o.leftoverWaitMs; listTraces(finalLeft).length > 0 && Date.now() < until; ) {
    await sleep(500);
    finalLeft = leftAfterKill(snapshot, { stateDir: setup.stateDir, parents: ctx.parents, ids: idsAtKill });
  }
  log(`  left by the killed manager at the end of the phase (${((Date.now() - killAt) / 1000).toFixed(1)} s after the kill): ${describeTraces(finalLeft)}`);
  for (const line of listTraces(finalLeft)) log(`    ${line}`);
  watcher.stop();
  const leaks = listTraces(finalLeft).map((l) => `left by the killed manager: ${l}`);
  watcher.poll();
  const m2Ids = new Set([...watcher.ids].filter((id) => !idsAtKill.has(id)));
  const t2 = traces({ managerPid: m2.pid, stateDir: setup.stateDir, parents: ctx.parents, ids: m2Ids });
  // The new manager has no earlier sample: only what belongs to no live sandbox of its own counts.
  leaks.push(...leaksOf({ before: after, after, t0: t2, t1: t2, rssToleranceKiB: o.rssToleranceKiB }));
  ctx.accounts.push({ label: `crash (manager ${m1.pid} killed → ${m2.pid})`, before, after, leaks });
  log(`  new manager after: RSS ${mib(after.rssKiB)} MiB, ${after.fds} fds; its sandboxes: ${describeTraces(t2)}`);
  return m2;
}

/** The hostile agent's modes and what each must give (as e2e/agent-link.test.ts). */
const FUZZ_MODES: { mode: (seed: number) => string; expected: Expected; timeoutSeconds?: number }[] = [
  { mode: () => "ping-flood", expected: { code: "sandbox_failed" } },
  { mode: () => "settings-flood", expected: { code: "sandbox_failed" } },
  { mode: () => "garbage", expected: { code: "sandbox_failed" } },
  { mode: (seed) => `random:${seed}`, expected: { code: "sandbox_failed" } },
  { mode: () => "oversized", expected: { code: "sandbox_failed" } },
  { mode: () => "big-chunk", expected: { code: "sandbox_failed" } },
  { mode: () => "huge-signal", expected: { code: "sandbox_failed" } },
  { mode: () => "out-of-order", expected: { code: "sandbox_failed" } },
  { mode: () => "no-exit", expected: { code: "sandbox_failed" } },
  { mode: () => "die", expected: { code: "sandbox_failed" } },
  { mode: () => "forged-error", expected: { code: "sandbox_failed" } },
  { mode: () => "hang", expected: { code: "timeout" }, timeoutSeconds: 1 },
];

/** Phase 3: the hostile agent's modes interleaved with honest runs, against one manager that must stay up. */
async function fuzzPhase(ctx: Context): Promise<void> {
  const { o } = ctx;
  const agentDir = join(ctx.base, "hostile-agent");
  mkdirSync(agentDir, { recursive: true });
  const bundle = await buildHostileAgent(agentDir, ROOT);
  const setup = stateSetup(ctx.base, "fuzz-state", ctx.cacheDir, { PYRO_AGENT_BUNDLE: bundle });
  const m = await startManager(ctx, setup);
  log(`\n== fuzz: ${o.fuzzRuns} runs (${o.fuzzClients} clients) against a hostile agent, manager pid ${m.pid}; random mode seeds ${o.seed}+i (PYRO_FUZZ_SEED replays)`);
  await warmUp(setup.socketPath, [{}]);
  const watcher = new SandboxIdWatcher(setup.stateDir);
  await settle(m, setup.stateDir, {}, { stableMs: 2_000, timeoutMs: 15_000 });
  const before = m.sample();
  const t0 = tracesOf(m, setup.stateDir, ctx.parents, watcher);
  log(`  before: RSS ${mib(before.rssKiB)} MiB, ${before.fds} fds; ready sandboxes: ${describeTraces(t0)}`);

  const queue = Array.from({ length: o.fuzzRuns }, (_, i) => i);
  const records: RunRecord[] = [];
  const workers = Array.from({ length: o.fuzzClients }, async () => {
    const client = new Pyro({ socketPath: setup.socketPath, autoStart: false });
    try {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        if (i % 3 === 2) {
          const r = await timedRun(client, ["echo", `honest-${i}`]);
          records.push(record("fuzz", "honest", r.ms, { exit: 0, stdout: `honest-${i}\n` }, r.outcome));
          continue;
        }
        const f = FUZZ_MODES[(Math.floor(i / 3) * 2 + (i % 3)) % FUZZ_MODES.length]!;
        const mode = f.mode(o.seed + i);
        const r = await timedRun(client, [`fuzz:${mode}`], { timeoutSeconds: f.timeoutSeconds ?? 60 });
        records.push(record("fuzz", `fuzz:${mode.split(":")[0]}`, r.ms, f.expected, r.outcome));
      }
    } finally {
      client.close();
    }
  });
  const started = Date.now();
  await withProgress("fuzz", () => `${records.length}/${o.fuzzRuns} runs, ${records.filter((r) => r.failure).length} unexpected`, Promise.all(workers));
  ctx.records.push(...records);
  const client = new Pyro({ socketPath: setup.socketPath, autoStart: false });
  const version = await client.version().catch((err: unknown) => err as Error);
  client.close();
  const samePid = !(version instanceof Error) && version.managerPid === m.pid && m.alive;
  log(`  ${records.length} runs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${records.filter((r) => r.failure).length} unexpected; manager ${samePid ? `still pid ${m.pid}` : `NOT the same: ${version instanceof Error ? version.message : `pid ${version.managerPid}`}`}`);
  for (const line of latencyTable(records)) log(line);

  const leaks: string[] = samePid ? [] : [`the manager did not survive the hostile agent (pid ${m.pid})`];
  if (m.alive) {
    const after = await settle(m, setup.stateDir, { dirs: t0.dirs.length, processes: t0.processes.length, fds: before.fds });
    watcher.stop();
    const t1 = tracesOf(m, setup.stateDir, ctx.parents, watcher);
    log(`  after:  RSS ${mib(after.rssKiB)} MiB, ${after.fds} fds; ready sandboxes: ${describeTraces(t1)}`);
    leaks.push(...leaksOf({ before, after, t0, t1, rssToleranceKiB: o.rssToleranceKiB }));
    ctx.accounts.push({ label: `fuzz (manager ${m.pid})`, before, after, leaks });
  } else {
    watcher.stop();
    ctx.accounts.push({ label: `fuzz (manager ${m.pid})`, before, leaks });
  }
  await m.stop();
  ctx.managers.delete(m);
}

function summary(ctx: Context): boolean {
  const failures = ctx.records.filter((r) => r.failure);
  log("\n== summary");
  log(`  seed ${ctx.o.seed}`);
  log("  unexpected outcomes:");
  for (const line of failureTable(ctx.records)) log(`  ${line}`);
  log("  manager memory and descriptors:");
  for (const a of ctx.accounts) {
    const after = a.after ? `${mib(a.after.rssKiB)} MiB, ${a.after.fds} fds` : "(gone)";
    log(`    ${a.label.padEnd(36)} before ${mib(a.before.rssKiB)} MiB, ${a.before.fds} fds   after ${after}`);
  }
  const leaks = ctx.accounts.flatMap((a) => a.leaks.map((l) => `${a.label}: ${l}`));
  for (const n of ctx.notes) log(`  note: ${n}`);
  log(leaks.length === 0 ? "  leaks: none" : `  leaks (${leaks.length}):`);
  for (const l of leaks) log(`    ${l}`);
  log(`  result: ${failures.length} unexpected outcome(s) in ${ctx.records.length} runs, ${leaks.length} leak(s)`);
  return failures.length === 0 && leaks.length === 0;
}

async function main(): Promise<number> {
  const o = parseOptions();
  if (!existsSync(PYRO)) throw new Error(`${PYRO} is missing: run npm run build`);
  const base = mkdtempSync(join(tmpdir(), "pyro-stress-"));
  chmodSync(base, 0o711); // managers running as root hand the sandbox uid a way through
  const cacheDir = process.env.PYRO_CACHE_DIR || join(tmpdir(), "pyro-stress-cache");
  mkdirSync(cacheDir, { recursive: true });
  const ctx: Context = { o, base, cacheDir, records: [], accounts: [], notes: [], managers: new Set(), parents: await sandboxCgroupParents() };
  const host = await hostService();
  const cleanup = async () => {
    for (const m of ctx.managers) await m.stop();
    host.server.close();
    if (!o.keep) rmSync(base, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
  log(`pyro stress: seed ${o.seed}, state under ${base}, environment cache ${cacheDir}, phases ${[...o.phases].join(",")}`);
  if (ctx.parents.length === 0) ctx.notes.push("no sandbox cgroups on this host: cgroup leftovers not checked");
  try {
    const kinds = runKinds({ hostAddresses: host.addresses, hostPort: host.port });
    // A variable of the manager's own, which no sandbox may see.
    const shared = stateSetup(base, "state", cacheDir, { PYRO_STRESS_SECRET: `secret-${o.seed}` });
    let m: ManagerProcess | undefined;
    if (o.phases.has("load")) m = await loadPhase(ctx, shared, kinds);
    if (o.phases.has("crash")) {
      if (!m) {
        m = await startManager(ctx, shared);
        await pull(shared.socketPath);
        await warmUp(shared.socketPath, [{}]);
      }
      m = await crashPhase(ctx, shared, m);
    }
    if (m) {
      await m.stop();
      ctx.managers.delete(m);
    }
    if (o.phases.has("fuzz")) await fuzzPhase(ctx);
    const ok = summary(ctx);
    if (!ok) log(o.keep ? `  state kept under ${base} (manager logs: */manager.log)` : `  to look closer: npm run stress -- --keep --seed ${o.seed} (keeps the state directories and manager logs)`);
    return ok ? 0 : 1;
  } catch (err) {
    for (const name of ["state", "fuzz-state"]) {
      const path = join(base, name, "manager.log");
      if (existsSync(path)) log(`--- ${path} (tail)\n${readFileSync(path, "utf8").slice(-3000)}`);
    }
    throw err;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
