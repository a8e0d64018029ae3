import { afterAll, describe, expect, it } from "vitest";
import { closeSync, mkdtempSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capLog, logTail, openLaunchLog } from "./sandbox-logs.js";

const dir = mkdtempSync(join(tmpdir(), "pyro-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sandbox logs", () => {
  it("keep the last launch's log beside the new one", () => {
    const path = join(dir, "a.log");
    let fd = openLaunchLog(path);
    writeSync(fd, "first launch\n");
    closeSync(fd);
    fd = openLaunchLog(path);
    writeSync(fd, "second launch\n");
    closeSync(fd);
    expect(readFileSync(`${path}.1`, "utf8")).toBe("first launch\n");
    expect(readFileSync(path, "utf8")).toBe("second launch\n");
    expect(logTail(path)).toBe("second launch");
  });

  it("are cut once past their cap, and their writer goes on at the new end", () => {
    const path = join(dir, "b.log");
    const fd = openLaunchLog(path);
    writeSync(fd, "x".repeat(2000));
    capLog(path, 1000);
    writeSync(fd, "after\n");
    closeSync(fd);
    expect(readFileSync(path, "utf8")).toBe("[pyro: log cut at 1000 bytes]\nafter\n");
    capLog(path, 1000); // under the cap: untouched
    expect(readFileSync(path, "utf8")).toBe("[pyro: log cut at 1000 bytes]\nafter\n");
  });
});
