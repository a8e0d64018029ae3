import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findCliBundle, managerCommand, managerLogPath } from "./manager-process.js";
import { CappedOutput } from "./capped-output.js";

const root = mkdtempSync(join(tmpdir(), "pyro-bundle-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("findCliBundle", () => {
  mkdirSync(join(root, "dist", "chunks"), { recursive: true });
  mkdirSync(join(root, "sdk", "src"), { recursive: true });
  writeFileSync(join(root, "dist", "pyro.mjs"), "");
  const bundle = join(root, "dist", "pyro.mjs");

  it("finds dist/pyro.mjs from the bundle, a chunk, and the sources", () => {
    expect(findCliBundle(pathToFileURL(join(root, "dist", "pyro.mjs")).href)).toBe(bundle);
    expect(findCliBundle(pathToFileURL(join(root, "dist", "chunks", "client-X.mjs")).href)).toBe(bundle);
    expect(findCliBundle(pathToFileURL(join(root, "sdk", "src", "client.ts")).href)).toBe(bundle);
  });
});

describe("managerCommand", () => {
  it("appends `manager serve --socket` to PYRO_MANAGER_COMMAND", () => {
    expect(managerCommand({ PYRO_MANAGER_COMMAND: '["pyro"]' }, "/s.sock")).toEqual(["pyro", "manager", "serve", "--socket", "/s.sock"]);
  });
  // Needs `npm run build` (the test script's pretest does it).
  it.skipIf(!findCliBundle())("defaults to this node and the repository's bundle", () => {
    const argv = managerCommand({}, "/s.sock");
    expect(argv[0]).toBe(process.execPath);
    expect(argv[1]).toMatch(/dist[/\\]pyro\.mjs$/);
  });
  it("names the manager log under the state dir", () => {
    expect(managerLogPath({ PYRO_STATE_DIR: "/st" })).toBe("/st/manager.log");
  });
});

describe("CappedOutput", () => {
  it("keeps up to the limit and says when it dropped bytes", () => {
    const c = new CappedOutput(4);
    c.push(Buffer.from("ab"));
    c.push(Buffer.from("cdef"));
    expect(c.text()).toBe("abcd");
    expect(c.truncated).toBe(true);
    const d = new CappedOutput(4);
    d.push(Buffer.from("abcd"));
    expect(d.truncated).toBe(false);
    d.push(new Uint8Array(0));
    expect(d.truncated).toBe(false);
  });
  it("shows invalid UTF-8 in complete output as U+FFFD", () => {
    const c = new CappedOutput(10);
    c.push(Buffer.from([0x61, 0xff]));
    expect(c.text()).toBe("a\uFFFD");
  });
});
