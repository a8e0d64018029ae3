import { describe, expect, it } from "vitest";
import { OutputRing } from "./output-ring.js";

const b = (s: string) => Buffer.from(s);
const text = (r: { data: Buffer } | undefined) => r?.data.toString();

describe("OutputRing", () => {
  it("addresses bytes by their offset in the stream and reads across chunks", () => {
    const ring = new OutputRing(100);
    ring.push(b("hello "), 1);
    ring.push(b("world"), 2);
    expect(ring.end).toBe(11);
    expect(ring.oldest).toBe(0);
    expect(ring.read(0, 100)).toEqual({ offset: 0, data: b("hello world") });
    expect(ring.read(3, 100)).toEqual({ offset: 3, data: b("lo world") });
    expect(ring.read(3, 4)).toEqual({ offset: 3, data: b("lo w") });
    expect(ring.read(11, 100)).toBeUndefined();
    expect(ring.read(50, 100)).toBeUndefined();
  });

  it("hands a single chunk back as a view, not a copy", () => {
    const ring = new OutputRing(100);
    const chunk = b("abcdef");
    ring.push(chunk, 1);
    expect(ring.read(2, 100)!.data.buffer).toBe(chunk.buffer);
  });

  it("drops the oldest bytes past its capacity, partly dropped chunks included, and reads from the oldest kept byte", () => {
    const ring = new OutputRing(8);
    ring.push(b("0123"), 1);
    ring.push(b("4567"), 2);
    ring.push(b("89ab"), 3);
    expect(ring.oldest).toBe(4);
    expect(ring.size).toBe(8);
    expect(ring.read(0, 100)).toEqual({ offset: 4, data: b("456789ab") });
    ring.push(b("cd"), 4);
    expect(ring.oldest).toBe(6);
    expect(text(ring.read(0, 100))).toBe("6789abcd");
    expect(text(ring.read(7, 3))).toBe("789");
  });

  it("keeps a chunk larger than the whole capacity by its tail", () => {
    const ring = new OutputRing(4);
    ring.push(b("0123456789"), 1);
    expect(ring.oldest).toBe(6);
    expect(ring.end).toBe(10);
    expect(text(ring.read(0, 100))).toBe("6789");
  });

  it("stops a read at the first chunk that arrived at or after the limit, so two streams keep their order", () => {
    const ring = new OutputRing(100);
    ring.push(b("a"), 1);
    ring.push(b("b"), 2);
    ring.push(b("c"), 5);
    expect(text(ring.read(0, 100, 5))).toBe("ab");
    expect(ring.read(0, 100, 1)).toBeUndefined();
    expect(ring.seqAt(0)).toBe(1);
    expect(ring.seqAt(2)).toBe(5);
    expect(ring.seqAt(3)).toBeUndefined();
  });

  it("stays correct over many chunks (compaction, binary search)", () => {
    const ring = new OutputRing(1000);
    let all = "";
    for (let i = 0; i < 5000; i++) {
      const s = String(i % 10).repeat((i % 7) + 1);
      ring.push(b(s), i);
      all += s;
    }
    expect(ring.end).toBe(all.length);
    expect(ring.size).toBe(1000);
    expect(text(ring.read(0, 2000))).toBe(all.slice(-1000));
    const from = all.length - 333;
    expect(text(ring.read(from, 50))).toBe(all.slice(from, from + 50));
  });
});
