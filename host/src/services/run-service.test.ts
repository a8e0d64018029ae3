/**
 * RunService in-process, through Connect's router transport, over a real Runner and pool
 * with a fake backend: how ready sandboxes are made, handed out and cleaned up as requests
 * come and go, and that the bounds the operations table advertises are the manager's.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { AgentService, ExecResponseSchema } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { RunService, RunRequestSchema } from "../../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { OPERATIONS } from "../../../sdk/src/operations.js";
import type { ParamSpec } from "../../../sdk/src/operations/spec.js";
import type { Backend, Sandbox, SandboxSpec } from "../backends/backend.js";
import { BackendRegistry } from "../backends/registry.js";
import type { EnvironmentStore } from "../environments/store.js";
import { silentLogger } from "../logger.js";
import { Runner } from "../runner.js";
import { SandboxPool } from "../sandbox-pool.js";
import { FAKE_CAPABILITIES, fakeSandbox } from "../testing.js";
import { runService } from "./run-service.js";

const stateDir = mkdtempSync(join(tmpdir(), "pyro-run-service-"));
mkdirSync(join(stateDir, "sandboxes"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

/** A backend whose sandboxes boot in `bootMs`, honour their AbortSignal, and whose agents run any command at once (or when `gate` opens). */
class FakeBackend implements Backend {
  readonly name = "host" as const;
  readonly isolated = false;
  readonly capabilities = FAKE_CAPABILITIES;
  made: string[] = [];
  cancelled = 0;
  destroyed: string[] = [];
  booting = 0;
  mostAtOnce = 0;
  /** Sandboxes that are dead by the time they are handed out. */
  dead = new Set<number>();
  gate: Promise<void> = Promise.resolve();

  constructor(private readonly o: { bootMs: number; honourSignal?: boolean }) {}

  async probe() {
    return { available: true, detail: "", hint: "" };
  }

  async recover(): Promise<"gone"> {
    return "gone";
  }

  async create(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    const n = this.made.push(spec.id);
    this.booting++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.booting);
    try {
      await sleep(this.o.bootMs, undefined, this.o.honourSignal === false ? {} : { signal });
    } catch (err) {
      this.cancelled++;
      throw err;
    } finally {
      this.booting--;
    }
    const backend = this;
    const agent = createClient(
      AgentService,
      createRouterTransport(({ service }) =>
        service(AgentService, {
          getInfo: () => ({}),
          async *exec() {
            yield create(ExecResponseSchema, { event: { case: "started", value: { pid: 7 } } });
            await backend.gate;
            yield create(ExecResponseSchema, { event: { case: "exited", value: { exitCode: 0, signal: "", durationMs: 1n } } });
          },
        }),
      ),
    );
    let alive = !this.dead.has(n);
    return fakeSandbox({
      id: spec.id,
      backend: "host",
      agent,
      alive: () => alive,
      destroy: async () => {
        await sleep(5);
        alive = false;
        this.destroyed.push(spec.id);
      },
    });
  }
}

const pools: SandboxPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

function service(backend: FakeBackend, poolSize = 1) {
  const pool = new SandboxPool({ size: poolSize, idleMs: 60_000, log: silentLogger });
  pools.push(pool);
  const runner = new Runner({ stateDir, store: {} as EnvironmentStore, backends: new BackendRegistry([backend]), pool, defaultBackend: "", log: silentLogger });
  const client = createClient(RunService, createRouterTransport(({ service: s }) => s(RunService, runService({ runner, log: silentLogger }))));
  /** Runs `true` and returns the sandbox it ran in. */
  const run = async (fields: { vcpuCount?: number; memMib?: number; diskMib?: number } = {}) => {
    let sandbox = "";
    const req = create(RunRequestSchema, { environment: "debian:12", argv: ["true"], backend: "host", allowHostCompat: true, ...fields });
    for await (const res of client.run(req)) if (res.event.case === "started") sandbox = res.event.value.sandboxId;
    return sandbox;
  };
  return { run, pool };
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  for (const t0 = Date.now(); !cond(); await sleep(5)) if (Date.now() - t0 > ms) throw new Error("timed out");
}

describe("RunService with a pool of ready sandboxes", () => {
  it("refills with the pool's own signal: the refill a request causes outlives the request", async () => {
    const backend = new FakeBackend({ bootMs: 30 });
    const { run } = service(backend);
    await run();
    await until(() => backend.made.length === 2 && backend.booting === 0);
    await sleep(20);
    expect(backend.cancelled).toBe(0);
    // The next request gets the sandbox made ahead, not one made to order.
    expect(await run()).toBe(backend.made[1]);
  });

  it("destroys a sandbox it was waiting for that turned out dead, and runs in a fresh one", async () => {
    const backend = new FakeBackend({ bootMs: 100, honourSignal: false });
    backend.dead.add(2);
    const { run } = service(backend);
    await run();
    await until(() => backend.made.length === 2); // the refill is on its way
    const used = await run();
    expect(used).not.toBe(backend.made[1]);
    await until(() => backend.destroyed.includes(backend.made[1]!));
  });

  it("starts the refill when a sandbox is taken, while its command still runs", async () => {
    const backend = new FakeBackend({ bootMs: 20 });
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const { run } = service(backend);
    const first = run();
    await until(() => backend.made.length === 2); // before the first command has ended
    open();
    await first;
  });

  it("never boots two sandboxes at once for one request: one finding a sandbox on its way waits for it", async () => {
    const backend = new FakeBackend({ bootMs: 40 });
    const { run } = service(backend);
    for (let i = 0; i < 4; i++) await run();
    expect(backend.mostAtOnce).toBe(1);
  });
});

describe("RunService bounds", () => {
  const params: readonly ParamSpec[] = OPERATIONS.vm_run.params;
  const integer = params.filter((p) => p.kind === "integer" && p.min !== undefined && p.max !== undefined);

  it.each(integer.map((p) => [p.name, p.min!, p.max!] as const))("%s: the operations table's bounds (%d..%d) are the manager's", async (name, min, max) => {
    const backend = new FakeBackend({ bootMs: 0 });
    const { run } = service(backend, 0);
    const field = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as "vcpuCount" | "memMib" | "diskMib";
    await expect(run({ [field]: min })).resolves.toMatch(/^sb-/);
    await expect(run({ [field]: max })).resolves.toMatch(/^sb-/);
    if (min > 1) await expect(run({ [field]: min - 1 })).rejects.toThrow(/must be between|must be at most/);
    await expect(run({ [field]: max + 1 })).rejects.toThrow(/must be between|must be at most/);
  });
});
