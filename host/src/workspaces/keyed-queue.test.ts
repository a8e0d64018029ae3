import { describe, expect, it } from "vitest";
import { KeyedQueue } from "./keyed-queue.js";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("KeyedQueue", () => {
  it("runs one key's work in arrival order, one at a time", async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ms: number) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([q.run("a", job("1", 20)), q.run("a", job("2", 1)), q.run("a", job("3", 5))]);
    expect(results).toEqual(["1", "2", "3"]);
    expect(log).toEqual(["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
    await tick();
    expect(q.busy).toBe(0);
  });

  it("runs different keys alongside, and a failure does not stop the queue", async () => {
    const q = new KeyedQueue();
    const order: string[] = [];
    const a = q.run("a", async () => {
      await tick(20);
      order.push("a");
    });
    const b = q.run("b", async () => {
      order.push("b");
    });
    const bad = q.run("a", async () => {
      throw new Error("boom");
    });
    const after = q.run("a", async () => "fine");
    await Promise.all([a, b]);
    await expect(bad).rejects.toThrow("boom");
    await expect(after).resolves.toBe("fine");
    expect(order).toEqual(["b", "a"]);
  });

  it("holds the key for a whole stream", async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const stream = q.runStream("a", async function* () {
      log.push("stream start");
      yield 1;
      await tick(10);
      yield 2;
      log.push("stream end");
    });
    const values: number[] = [];
    const consumed = (async () => {
      for await (const v of stream) values.push(v);
    })();
    await tick(1);
    const next = q.run("a", async () => log.push("next"));
    await Promise.all([consumed, next]);
    expect(values).toEqual([1, 2]);
    expect(log).toEqual(["stream start", "stream end", "next"]);
  });
});
