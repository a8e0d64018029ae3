import { describe, expect, it } from "vitest";
import type { Sandbox } from "./backends/backend.js";
import { unenforcedLimits } from "./backends/resources.js";
import { silentLogger } from "./logger.js";
import { SandboxPool } from "./sandbox-pool.js";

function counter() {
  let made = 0;
  const destroyed: string[] = [];
  const create = async (): Promise<Sandbox> => {
    const id = `sb-${++made}`;
    let alive = true;
    return {
      id,
      backend: "namespace",
      environment: "debian:12",
      network: false,
      pid: process.pid,
      agent: {} as Sandbox["agent"],
      files: {} as Sandbox["files"],
      limits: unenforcedLimits({ vcpuCount: 1, memMib: 1024, diskMib: 4096, pidsMax: 1024 }, "fake"),
      breaches: async () => [],
      alive: () => alive,
      destroy: async () => {
        alive = false;
        destroyed.push(id);
      },
    };
  };
  return { create, made: () => made, destroyed };
}

describe("SandboxPool", () => {
  it("makes the first sandbox to order, then serves ready ones and refills", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    const first = await pool.take("k", c.create);
    expect(first.id).toBe("sb-1");
    pool.refill("k");
    await new Promise((r) => setTimeout(r, 10));
    const second = await pool.take("k", c.create);
    expect(second.id).toBe("sb-2"); // the one made ahead
    expect(c.made()).toBe(2);
    await pool.close();
  });

  it("hands over a sandbox still starting rather than starting another", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    await pool.take("k", c.create);
    pool.refill("k");
    const next = await pool.take("k", c.create); // refill not finished yet
    expect(next.id).toBe("sb-2");
    expect(c.made()).toBe(2);
    await pool.close();
  });

  it("never hands out a dead sandbox, and destroys the ready ones on close", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    await pool.take("k", c.create);
    pool.refill("k");
    await new Promise((r) => setTimeout(r, 10));
    await pool.close();
    expect(c.destroyed).toEqual(["sb-2"]);
  });

  it("with size 0 always makes a new one", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 0, idleMs: 60_000, log: silentLogger });
    await pool.take("k", c.create);
    pool.refill("k");
    await pool.take("k", c.create);
    expect(c.made()).toBe(2);
    await pool.close();
  });

  it("drops the ready sandboxes of a replaced copy, keeping the current kind's", async () => {
    const c = counter();
    const pool = new SandboxPool({ size: 1, idleMs: 60_000, log: silentLogger });
    await pool.take("debian:12|namespace|/old", c.create);
    pool.refill("debian:12|namespace|/old");
    await pool.take("debian:12|namespace|/new", c.create);
    pool.refill("debian:12|namespace|/new");
    await pool.take("debian:12-base|namespace|/b", c.create);
    pool.refill("debian:12-base|namespace|/b");
    await new Promise((r) => setTimeout(r, 10));
    await pool.drop("debian:12|namespace|", (key) => key === "debian:12|namespace|/new");
    expect(c.destroyed).toEqual(["sb-2"]); // the old copy's ready sandbox, which held it on disk
    await pool.close();
  });
});
