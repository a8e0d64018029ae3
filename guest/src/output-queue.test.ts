import { describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { OutputQueue } from "./output-queue.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect(q: OutputQueue, delayMs = 0): Promise<{ stdout: number; stderr: number; order: string }> {
  let stdout = 0;
  let stderr = 0;
  let order = "";
  for await (const c of q.drain()) {
    if (c.stream === "stdout") stdout += c.data.length;
    else stderr += c.data.length;
    order += c.data.toString().slice(0, 1);
    if (delayMs) await sleep(delayMs);
  }
  return { stdout, stderr, order };
}

describe("OutputQueue", () => {
  it("keeps arrival order across streams and ends when every source has", async () => {
    const q = new OutputQueue();
    const out = new PassThrough();
    const err = new PassThrough();
    q.add("stdout", out);
    q.add("stderr", err);
    out.write("a");
    err.write("b");
    out.end("c");
    err.end();
    expect(await collect(q)).toEqual({ stdout: 2, stderr: 1, order: "abc" });
  });

  it("pauses its sources above the limit and resumes them once drained", async () => {
    const q = new OutputQueue(1000);
    const out = new PassThrough();
    q.add("stdout", out);
    out.write(Buffer.alloc(600, "x"));
    out.write(Buffer.alloc(600, "x"));
    await sleep(10);
    expect(q.isPaused).toBe(true);
    const done = collect(q);
    await sleep(10);
    expect(q.isPaused).toBe(false);
    out.end();
    expect((await done).stdout).toBe(1200);
  });

  it("stops reading quiet sources (a grandchild holding the pipe), but never cuts output a slow reader has not taken yet", async () => {
    const q = new OutputQueue(1000);
    const out = new PassThrough({ highWaterMark: 100 });
    q.add("stdout", out);
    for (let i = 0; i < 20; i++) out.write(Buffer.alloc(500, "y")); // 10 kB, most of it held back
    q.detachWhenQuiet(30); // the command has exited; the pipe stays open
    const r = await collect(q, 20); // slower than the quiet period, per chunk
    expect(r.stdout).toBe(10_000);
  });
});
