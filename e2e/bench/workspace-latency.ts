/**
 * Latencies of workspace calls through the SDK, each run one after another on a manager
 * already running: the first command of a new workspace, a command on a running one, a file
 * read, a patch, a reset. Each returns milliseconds of its measured runs (after warm-up runs)
 * and, where it helps tell where the time goes, of stages timed apart.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchWorkspaces } from "./bench-workspaces.js";
import type { CreateTiming } from "./sandbox-steps.js";
import { gitApply, makePatchFixture } from "./patch-fixture.js";
import { timeRuns } from "./stats.js";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** createWorkspace + execWorkspace(echo), the workspace deleted after each (untimed); the two calls also apart. */
export async function timeToFirstCommand(ws: BenchWorkspaces, runs: number, warmup: number) {
  const create: number[] = [];
  const firstExec: number[] = [];
  const creates: CreateTiming[] = [];
  const total = await timeRuns(runs, warmup, async (i) => {
    const calledAt = Date.now();
    const t0 = performance.now();
    const w = await ws.create();
    const t1 = performance.now();
    const answeredAt = Date.now();
    const r = await ws.pyro.execWorkspace(w.workspaceId, ["echo", "hello"]);
    const t2 = performance.now();
    check(r.exitCode === 0 && r.stdout === "hello\n", `echo in a new workspace: exit ${r.exitCode}, ${JSON.stringify(r.stdout)}`);
    if (i >= warmup) {
      create.push(t1 - t0);
      firstExec.push(t2 - t1);
      creates.push({ sandboxId: w.sandboxId, calledAt, answeredAt });
    }
    await ws.delete(w.workspaceId);
  });
  return { total, create, firstExec, creates };
}

/**
 * execWorkspace(["true"]) on a running workspace; apart: until its `started` event arrived,
 * from then to the answer, and the time the command ran as the result reports it (the
 * manager's count, which overlaps both).
 */
export async function execRoundTrip(ws: BenchWorkspaces, id: string, runs: number, warmup: number) {
  const untilStarted: number[] = [];
  const ran: number[] = [];
  const afterStarted: number[] = [];
  const total = await timeRuns(runs, warmup, async (i) => {
    const t0 = performance.now();
    let started = 0;
    const r = await ws.pyro.execWorkspace(id, ["true"], { onStarted: () => (started = performance.now()) });
    const t1 = performance.now();
    check(r.exitCode === 0, `true exited ${r.exitCode}`);
    if (i >= warmup) {
      untilStarted.push(started - t0);
      ran.push(r.durationMs);
      afterStarted.push(t1 - started);
    }
  });
  return { total, untilStarted, afterStarted, ran };
}

/** readWorkspaceFile of a 64 KiB text file (written once, untimed). */
export async function readFile64k(ws: BenchWorkspaces, id: string, runs: number, warmup: number): Promise<number[]> {
  const text = "0123456789abcdef".repeat(4096);
  await ws.pyro.writeWorkspaceFile(id, "bench/read-64k.txt", text);
  return timeRuns(runs, warmup, async () => {
    const r = await ws.pyro.readWorkspaceFile(id, "bench/read-64k.txt", { maxBytes: 65_536 });
    check(r.content.length === 65_536 && !r.truncated, `read ${r.content.length} characters (truncated: ${r.truncated})`);
  });
}

/**
 * A 50-file patch through applyWorkspacePatch, against `git apply` of the same patch to the
 * same tree in a local directory. Each side applies the reverse patch (untimed) after each
 * run, so every timed run starts from the same tree.
 */
export async function patchApply(ws: BenchWorkspaces, dir: string, files: number, runs: number, warmup: number) {
  const fx = makePatchFixture(join(dir, "patch"), files);
  const tree = join(dir, "patch", "git-tree");
  cpSync(fx.before, tree, { recursive: true });
  const w = await ws.create({ seedPath: fx.before });
  const workspace: number[] = [];
  const git: number[] = [];
  let cpu: Record<string, number> = {};
  try {
    const meter = ws.cpuMeter(w.sandboxId);
    for (let i = 0; i < warmup + runs; i++) {
      if (i === warmup) meter.start();
      let t0 = performance.now();
      const r = await ws.pyro.applyWorkspacePatch(w.workspaceId, fx.forward);
      const tWs = performance.now() - t0;
      check(r.filesChanged === files, `the patch changed ${r.filesChanged} files, not ${files}`);
      await ws.pyro.applyWorkspacePatch(w.workspaceId, fx.reverse);
      t0 = performance.now();
      gitApply(tree, fx.forwardFile);
      const tGit = performance.now() - t0;
      gitApply(tree, fx.reverseFile);
      if (i >= warmup) {
        workspace.push(tWs);
        git.push(tGit);
      }
    }
    // Forward and reverse applies, and git apply's own processes (children of this one, reaped: not counted).
    cpu = meter.stop();
  } finally {
    await ws.delete(w.workspaceId);
  }
  return { workspace, git, patchBytes: Buffer.byteLength(fx.forward), cpu };
}

/** Writes `mib` files of 1 MiB of random bytes into `dir`. */
function writeMiBFiles(dir: string, mib: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < mib; i++) writeFileSync(join(dir, `f${String(i).padStart(3, "0")}.bin`), randomBytes(1 << 20));
}

/**
 * resetWorkspace of a workspace seeded from a directory of `mib` MiB. Apart, to tell where
 * a reset's time goes: the same bytes (as a tar) pushed into a running workspace (the import
 * a reset does into its new sandbox), and the deletion of the seeded workspace (a reset ends
 * the old sandbox the same way).
 */
export async function resetFigure(ws: BenchWorkspaces, dir: string, mib: number, runs: number, warmup: number) {
  const seed = join(dir, "reset-seed");
  writeMiBFiles(seed, mib);
  let t0 = performance.now();
  const w = await ws.create({ seedPath: seed });
  const seededCreateMs = performance.now() - t0;
  let deleteMs: number;
  let reset: number[];
  let cpu: Record<string, number> = {};
  // The manager's CPU only: each reset makes a new sandbox, which the meter does not follow.
  const meter = ws.cpuMeter("");
  try {
    reset = await timeRuns(runs, warmup, async (i) => {
      if (i === warmup) meter.start();
      const r = await ws.pyro.resetWorkspace(w.workspaceId);
      check(r.state === "started", `a reset workspace is ${r.state}`);
    });
    const { sandbox: _replaced, ...used } = meter.stop();
    cpu = used;
    const n = await ws.pyro.execWorkspace(w.workspaceId, "ls | wc -l");
    check(n.stdout.trim() === String(mib), `a reset workspace holds ${n.stdout.trim()} files, not ${mib}`);
  } finally {
    t0 = performance.now();
    await ws.delete(w.workspaceId);
    deleteMs = performance.now() - t0;
  }

  // The same bytes extracted inside a sandbox, onto its disk, by tar itself: the floor of the import.
  const tar = join(dir, "reset-seed.tar");
  execFileSync("tar", ["-C", seed, "-cf", tar, "."]);
  const scratch = await ws.create();
  const push: number[] = [];
  const tarInSandbox: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      t0 = performance.now();
      const r = await ws.pyro.pushWorkspace(scratch.workspaceId, tar, { dest: `p${i}` });
      const dt = performance.now() - t0;
      check(r.files === mib, `the push wrote ${r.files} files, not ${mib}`);
      if (i === 0) check((await ws.pyro.execWorkspace(scratch.workspaceId, "tar -C p0 -cf seed.tar .")).exitCode === 0, "tar -c in the sandbox failed");
      await ws.pyro.execWorkspace(scratch.workspaceId, ["rm", "-rf", `p${i}`]);
      if (i >= warmup) push.push(dt);
    }
    for (let i = 0; i < warmup + runs; i++) {
      t0 = performance.now();
      const r = await ws.pyro.execWorkspace(scratch.workspaceId, `mkdir x && tar -C x -xf seed.tar`);
      const dt = performance.now() - t0;
      check(r.exitCode === 0, `tar -x in the sandbox exited ${r.exitCode}: ${r.stderr}`);
      await ws.pyro.execWorkspace(scratch.workspaceId, ["rm", "-rf", "x"]);
      if (i >= warmup) tarInSandbox.push(dt);
    }
  } finally {
    await ws.delete(scratch.workspaceId);
  }
  return { reset, push, tarInSandbox, seededCreateMs, deleteMs, cpu };
}
