import { describe, expect, it } from "vitest";
import { headTail } from "./head-tail.js";

describe("headTail", () => {
  it("keeps short text as it is", () => {
    expect(headTail("abc", 10)).toEqual({ text: "abc", cut: false });
  });

  it("keeps head and tail within the bound, saying how much went", () => {
    const text = "H".repeat(5000) + "M".repeat(100_000) + "T".repeat(5000);
    const r = headTail(text, 4096);
    expect(r.cut).toBe(true);
    expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(4096);
    expect(r.text.startsWith("HHHH")).toBe(true);
    expect(r.text.endsWith("TTTT")).toBe(true);
    const omitted = Number(/\[… (\d+) bytes left out …\]/.exec(r.text)?.[1]);
    expect(Buffer.byteLength(r.text.replace(/\n\[… \d+ bytes left out …\]\n/, "")) + omitted).toBe(110_000);
  });

  it("never splits a character", () => {
    const r = headTail("é".repeat(10_000), 1001);
    expect(r.text).not.toContain("\uFFFD");
    expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(1001);
  });
});
