/**
 * Piped output reaches a slow reader whole: the real CLI writes only as fast as its reader
 * reads, that pace travels back through the manager to the command's pipes, nobody on the
 * way buffers the output, and the CLI exits only once its reader has everything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { MiB, RssSampler } from "./memory.js";
import { managerLog, PYRO, pyro, startManager, type TestManager } from "./harness.js";

const TOTAL = 256 * MiB;
/** How long the reader leaves the pipe unread before it starts: longer than the command needs to write it all. */
const READER_WAIT_MS = 8_000;
/** Generous bounds; without backpressure the CLI alone grows by about the whole output. */
const CLI_PEAK_LIMIT = 200 * MiB;
const MANAGER_GROWTH_LIMIT = 96 * MiB;

let m: TestManager;
beforeAll(async () => {
  m = await startManager();
  // Warm the manager (agent runtime, ready sandbox) so its growth below is the run's alone.
  const r = pyro(["run", "debian:12", "--", "true"], m.env);
  expect(r.status, r.stderr + managerLog(m)).toBe(0);
});
afterAll(() => m?.stop());

async function slowReader(stream: "stdout" | "stderr") {
  const script = stream === "stdout" ? `head -c ${TOTAL} /dev/zero` : `head -c ${TOTAL} /dev/zero >&2`;
  const cli = spawn(process.execPath, [PYRO, "run", "debian:12", "--timeout-seconds", "300", "--", "sh", "-c", script], {
    env: m.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Readable = cli[stream];
  const other: Readable = stream === "stdout" ? cli.stderr : cli.stdout;
  let otherText = "";
  other.on("data", (d: Buffer) => (otherText += d.toString()));

  const managerBefore = new RssSampler([m.pid]).stop().get(m.pid)!;
  const sampler = new RssSampler([cli.pid!, m.pid]);
  let exitedAt: number | undefined;
  let status: number | null = null;
  const exited = new Promise<void>((resolve) =>
    cli.once("exit", (code) => {
      exitedAt = Date.now();
      status = code;
      resolve();
    }),
  );

  // Nothing reads the pipe yet: `out` stays paused, the pipe fills, and the CLI must wait.
  await sleep(READER_WAIT_MS);
  const readingFrom = Date.now();
  const stillRunning = exitedAt === undefined;
  let count = 0;
  let bytesAtExit: number | undefined;
  void exited.then(() => (bytesAtExit = count));
  out.on("data", (d: Buffer) => (count += d.length));
  await new Promise<void>((resolve) => out.once("end", resolve));
  await exited;
  const peaks = sampler.stop();

  const cliPeak = peaks.get(cli.pid!) ?? 0;
  const managerGrowth = (peaks.get(m.pid) ?? 0) - managerBefore;
  process.stderr.write(
    `[piped-output] ${stream}: ${count} bytes, exit ${status}, CLI peak RSS ${(cliPeak / MiB).toFixed(0)} MiB, ` +
      `manager ${(managerBefore / MiB).toFixed(0)} MiB + ${(managerGrowth / MiB).toFixed(0)} MiB at peak, ` +
      `${((exitedAt! - readingFrom) / 1000).toFixed(1)} s of reading\n`,
  );
  return { count, status, stillRunning, bytesAtExit, cliPeak, managerGrowth, otherText };
}

describe("piped output into a slow reader", () => {
  for (const stream of ["stdout", "stderr"] as const) {
    it(`delivers every byte of ${stream}, with bounded memory, and exits after the reader has it`, async () => {
      const r = await slowReader(stream);
      expect(r.status, r.otherText + managerLog(m)).toBe(0);
      expect(r.count).toBe(TOTAL);
      // The CLI waited for its reader rather than exiting with the output unread …
      expect(r.stillRunning).toBe(true);
      // … and exited only with at most the pipe's own buffer left unread.
      expect(r.bytesAtExit).toBeGreaterThanOrEqual(TOTAL - MiB);
      expect(r.cliPeak).toBeLessThan(CLI_PEAK_LIMIT);
      expect(r.managerGrowth).toBeLessThan(MANAGER_GROWTH_LIMIT);
    });
  }
});
