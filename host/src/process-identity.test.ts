import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { identify, isRunningSync, killIdentified, waitGone } from "./process-identity.js";
import { deadProcess } from "./testing.js";

describe("killIdentified", () => {
  it("signals the process an identity names, and never another with the same pid", async () => {
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    const id = (await identify(child.pid!))!;
    const exited = new Promise((r) => child.once("exit", r));
    // The same pid with another start time is another process (a reused pid): left alone.
    expect(killIdentified({ ...id, start: String(BigInt(id.start) + 1n) })).toBe(false);
    expect(isRunningSync(id)).toBe(true);
    expect(killIdentified(id)).toBe(true);
    await exited;
    expect(await waitGone([id], 1000)).toBe(true);
    expect(killIdentified(id)).toBe(false);
  });

  it("counts a process that has exited as gone", async () => {
    const dead = await deadProcess();
    expect(isRunningSync(dead)).toBe(false);
    expect(killIdentified(dead)).toBe(false);
  });
});
