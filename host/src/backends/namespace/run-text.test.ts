import { describe, expect, it } from "vitest";
import { runText } from "./run-text.js";

describe("runText", () => {
  it("returns all of a program's output, however soon after writing it exits", async () => {
    // Many at once, round after round: with the event loop busy, exits are often seen before output.
    for (let round = 0; round < 10; round++) {
      const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => runText("sh", ["-c", `echo line-${i}`])));
      expect(outs).toEqual(Array.from({ length: 20 }, (_, i) => `line-${i}`));
    }
  });

  it("returns an empty string for a program that fails or does not exist", async () => {
    expect(await runText("sh", ["-c", "echo partial; exit 3"])).toBe("");
    expect(await runText("no-such-program-pyro", [])).toBe("");
  });
});
