/**
 * The manager survives whatever comes over a connection: a real manager runs real
 * sandboxes whose agent is e2e/fixtures/hostile-agent.ts, which runs ordinary commands
 * honestly and misbehaves on `fuzz:<mode>` (floods, garbage, forged and oversized events,
 * dying, hanging). Each hostile run fails alone, with `sandbox_failed` (or `timeout` for a
 * hang); the same manager process answers afterwards; honest runs beside them succeed.
 * The manager's own socket gets the same treatment from hostile clients.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeSync } from "node:fs";
import * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { RunRequestSchema } from "../proto/gen/pyro/manager/v1/run_service_pb.js";
import { Pyro } from "../sdk/src/index.js";
import { buildHostileAgent } from "./fixtures/build-hostile-agent.js";
import { FRAME, frame, pingFlood, prng, randomBytesFrom, seededMix, settingsFlood } from "./fixtures/http2-frames.js";
import { pyro, ROOT, startManager, testDir, type TestManager } from "./harness.js";

/** The seed of the random mode; set PYRO_FUZZ_SEED to replay another. */
const SEED = Number(process.env.PYRO_FUZZ_SEED ?? 20_240_601);

let m: TestManager;
let sdk: Pyro;
beforeAll(async () => {
  const bundle = await buildHostileAgent(testDir("pyro-hostile-agent-"), ROOT);
  m = await startManager({ PYRO_AGENT_BUNDLE: bundle });
  sdk = new Pyro({ socketPath: m.socketPath, autoStart: false });
});
afterAll(async () => {
  sdk?.close();
  await m?.stop();
});

const codeOf = (p: Promise<unknown>) => p.then(() => "succeeded", (e: { code?: string }) => e.code ?? String(e));

function managerLogLines(): string[] {
  const path = join(m.stateDir, "manager.log");
  return existsSync(path) ? readFileSync(path, "utf8").split("\n") : [];
}

describe("a hostile agent", () => {
  it("fails only its own run, with sandbox_failed; the manager and the honest runs beside it carry on", async () => {
    const before = await sdk.version();
    expect(before.managerPid).toBe(m.pid);
    process.stderr.write(`[agent-link] random mode seed ${SEED} (PYRO_FUZZ_SEED replays one)\n`);

    const expected: Record<string, string> = {
      "ping-flood": "sandbox_failed",
      "settings-flood": "sandbox_failed",
      garbage: "sandbox_failed",
      [`random:${SEED}`]: "sandbox_failed",
      oversized: "sandbox_failed",
      "big-chunk": "sandbox_failed",
      "huge-signal": "sandbox_failed",
      "out-of-order": "sandbox_failed",
      "no-exit": "sandbox_failed",
      die: "sandbox_failed",
      "forged-error": "sandbox_failed",
      hang: "timeout",
    };
    const hostile = Object.keys(expected).map((mode) =>
      codeOf(sdk.run("debian:12", [`fuzz:${mode}`], { timeoutSeconds: mode === "hang" ? 1 : 60 })).then((code) => [mode, code] as const),
    );
    const honest = Array.from({ length: 4 }, (_, i) => sdk.run("debian:12", ["sh", "-c", `sleep 0.${i}; echo honest-${i}`]));

    const got = Object.fromEntries(await Promise.all(hostile));
    expect(got).toEqual(expected);
    const results = await Promise.all(honest);
    expect(results.map((r) => [r.exitCode, r.stdout])).toEqual(Array.from({ length: 4 }, (_, i) => [0, `honest-${i}\n`]));

    const after = await sdk.version();
    expect(after.managerPid).toBe(before.managerPid);
    const again = await sdk.run("debian:12", ["echo", "still here"]);
    expect(again.stdout).toBe("still here\n");

    // What the agents sent reached the log only as short, truncated descriptions.
    const lines = managerLogLines();
    expect(lines.join("\n")).toContain("unknown signal");
    expect(lines.join("\n")).toContain('"guestCode":"manager_already_running"');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(8_192);
  });

  it("gets a one-line sandbox_failed on the CLI, with no guest text in it", () => {
    const r = pyro(["run", "debian:12", "--", "fuzz:huge-signal"], m.env);
    expect(r.status).toBe(125); // pyro's own failure
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/sandbox_failed: .*\(next: /);
    expect(r.stderr.length).toBeLessThan(500);
    expect(r.stderr).not.toContain("SSSS");
  });
});

describe("a hostile client of the manager socket", () => {
  const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  const attacks: Record<string, Buffer[]> = {
    "PING flood": [PREFACE, frame(FRAME.SETTINGS, 0, 0), pingFlood(200_000)],
    "SETTINGS flood": [PREFACE, frame(FRAME.SETTINGS, 0, 0), settingsFlood(200_000)],
    "random bytes": [randomBytesFrom(prng(SEED), 256 << 10)],
    "seeded frames": [PREFACE, ...seededMix(SEED, 200)],
  };

  /** Writes `chunks` on a fresh connection, never reading; resolves once written or refused. */
  const attack = (chunks: Buffer[]) =>
    new Promise<void>((resolve) => {
      const s = connect(m.socketPath);
      s.on("error", () => resolve());
      s.on("close", () => resolve());
      s.on("connect", () => {
        for (const c of chunks) s.write(c);
        // Enough time for the manager to read (or refuse) it all; then hang up.
        setTimeout(() => s.destroy(), 1_000);
      });
    });

  /**
   * Starts a real Run on its own HTTP/2 connection, then floods that connection under its
   * session (straight to the descriptor), so the manager's session fails with a stream open.
   */
  async function floodOwnRun(): Promise<void> {
    let sock: Socket | undefined;
    const session = http2.connect("http://localhost", { createConnection: () => (sock = connect(m.socketPath)) });
    session.on("error", () => {});
    const body = toBinary(RunRequestSchema, create(RunRequestSchema, { environment: "debian:12", argv: ["sleep", "5"] }));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length, 1);
    const stream = session.request({ ":method": "POST", ":path": "/pyro.manager.v1.RunService/Run", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => {});
    stream.end(Buffer.concat([head, body]));
    await new Promise((resolve) => stream.once("response", resolve));
    const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
    const flood = pingFlood(20_000);
    const deadline = Date.now() + 1_500;
    while (Date.now() < deadline) {
      try {
        writeSync(fd, flood);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") break;
      }
    }
    session.destroy();
  }

  it("cannot take the manager down or disturb a run in flight", async () => {
    const before = await sdk.version();
    const inFlight = sdk.run("debian:12", ["sh", "-c", "sleep 1; echo done"]);
    await sleep(100);
    await Promise.all([...Object.values(attacks).map(attack), floodOwnRun()]);
    expect((await inFlight).stdout).toBe("done\n");
    const after = await sdk.version();
    expect(after.managerPid).toBe(before.managerPid);
    expect((await sdk.run("debian:12", ["echo", "ok"])).stdout).toBe("ok\n");
  });
});
