import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { Sandbox } from "./backends/backend.js";
import { silentLogger } from "./logger.js";
import { SandboxPool } from "./sandbox-pool.js";
import { fakeSandbox } from "./testing.js";

/** A maker of fake sandboxes that takes `bootMs` and honours its signal, counting what it does. */
function counter(bootMs = 0) {
  let made = 0;
  let booting = 0;
  let mostAtOnce = 0;
  const destroyed: string[] = [];
  const signals: AbortSignal[] = [];
  const create = async (signal: AbortSignal): Promise<Sandbox> => {
    const id = `sb-${++made}`;
    signals.push(signal);
    booting++;
    mostAtOnce = Math.max(mostAtOnce, booting);
    try {
      if (bootMs > 0) await sleep(bootMs, undefined, { signal });
      if (signal.aborted) throw new Error("cancelled");
    } finally {
      booting--;
    }
    let alive = true;
    return fakeSandbox({ id, alive: () => alive, destroy: async () => void ((alive = false), destroyed.push(id)) });
  };
  return { create, made: () => made, destroyed, signals, mostAtOnce: () => mostAtOnce };
}

const request = () => ({ signal: new AbortController().signal });

describe("SandboxPool", () => {
  it("makes the first sandbox to order, then serves ready ones, refilling as each is taken", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    const first = await pool.take("k", c.create, request());
    expect(first.id).toBe("sb-1");
    await sleep(10); // the refill started when sb-1 was taken, not when it is destroyed
    expect(c.made()).toBe(2);
    const second = await pool.take("k", c.create, request());
    expect(second.id).toBe("sb-2"); // the one made ahead
    await sleep(10);
    expect(c.made()).toBe(3);
    await pool.close();
    expect(c.destroyed).toEqual(["sb-3"]);
  });

  it("hands over a sandbox still starting rather than starting another beside it", async () => {
    const c = counter(50);
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    await pool.take("k", c.create, request());
    await sleep(5); // sb-2 is on its way
    const next = await pool.take("k", c.create, request());
    expect(next.id).toBe("sb-2");
    expect(c.mostAtOnce()).toBe(1); // never two boots at once for one request
    await pool.close();
  });

  it("refills with its own signal, not the request's, and aborts them on close", async () => {
    const c = counter(30);
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    const req = new AbortController();
    await pool.take("k", c.create, { signal: req.signal });
    req.abort(); // the request is over
    await sleep(60);
    expect(c.made()).toBe(2);
    const next = await pool.take("k", c.create, request());
    expect(next.id).toBe("sb-2"); // the refill outlived the request that caused it
    expect(c.signals[0]).toBe(req.signal);
    const refillSignal = c.signals[2]!;
    expect(refillSignal.aborted).toBe(false);
    await pool.close();
    expect(refillSignal.aborted).toBe(true);
  });

  it("destroys a sandbox on its way that turns out dead when claimed, and makes a fresh one", async () => {
    const c = counter(20);
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    const dying = async (signal: AbortSignal) => {
      const s = await c.create(signal);
      if (s.id === "sb-2") return { ...s, alive: () => false };
      return s;
    };
    await pool.take("k", dying, request());
    const next = await pool.take("k", dying, request()); // claims sb-2 while it starts: dead on arrival
    expect(next.id).toBe("sb-3");
    expect(c.destroyed).toContain("sb-2");
    await pool.close();
  });

  it("never hands out a dead ready sandbox, and destroys it", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    await pool.take("k", c.create, request());
    await sleep(10);
    await pool.drop("nothing-matches");
    const ready = (pool as unknown as { kinds: Map<string, { ready: Sandbox[] }> }).kinds.get("k")!.ready;
    await ready[0]!.destroy(); // died while waiting
    const next = await pool.take("k", c.create, request());
    expect(next.id).toBe("sb-3");
    await pool.close();
  });

  it("does not refill a kind whose environment went out of date", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    await pool.take("k", c.create, { ...request(), canRefill: async () => false });
    await sleep(10);
    expect(c.made()).toBe(1);
    await pool.close();
  });

  it("with size 0 always makes a new one", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 0, idleMs: 60_000, log: silentLogger });
    await pool.take("k", c.create, request());
    pool.refill("k");
    await pool.take("k", c.create, request());
    expect(c.made()).toBe(2);
    await pool.close();
  });

  it("drops the ready sandboxes of a replaced copy, keeping the current kind's", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    await pool.take("debian:12|namespace|/old", c.create, request());
    await sleep(10);
    await pool.take("debian:12|namespace|/new", c.create, request());
    await pool.take("debian:12-base|namespace|/b", c.create, request());
    await sleep(10);
    await pool.drop("debian:12|namespace|", (key) => key === "debian:12|namespace|/new");
    expect(c.destroyed).toEqual(["sb-2"]); // the old copy's ready sandbox, which held it on disk
    await pool.close();
  });
});
