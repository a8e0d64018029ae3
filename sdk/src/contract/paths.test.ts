import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOCKET_PATH_MAX_BYTES, socketPathProblem } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "pyro-config-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("socketPathProblem", () => {
  const state = join(dir, "state");

  it("accepts the default path in a state directory still to be made, and a new path in an existing directory", () => {
    expect(socketPathProblem(join(state, "manager.sock"), state)).toBeUndefined();
    expect(socketPathProblem(join(dir, "m.sock"), state)).toBeUndefined();
  });

  it("refuses a path longer than a socket address holds, saying how long it is", () => {
    const long = join(dir, "x".repeat(SOCKET_PATH_MAX_BYTES));
    const err = socketPathProblem(long, state);
    expect(err).toMatchObject({ code: "invalid_configuration" });
    expect(err!.message).toContain(`is ${Buffer.byteLength(long)} bytes; a Unix socket path holds at most 107`);
    // At the limit exactly, it fits.
    const fits = join(dir, "y".repeat(SOCKET_PATH_MAX_BYTES - dir.length - 1));
    expect(Buffer.byteLength(fits)).toBe(SOCKET_PATH_MAX_BYTES);
    expect(socketPathProblem(fits, state)).toBeUndefined();
    // A huge value is not echoed whole.
    expect(socketPathProblem(`/${"z".repeat(100_000)}`, state)!.message.length).toBeLessThan(400);
  });

  it("refuses a path where a file or directory exists, and a directory pyro would have to create", () => {
    writeFileSync(join(dir, "notes.txt"), "mine");
    mkdirSync(join(dir, "folder"));
    expect(socketPathProblem(join(dir, "notes.txt"), state)).toMatchObject({ code: "invalid_configuration", message: expect.stringContaining("is not a socket") });
    expect(socketPathProblem(join(dir, "folder"), state)).toMatchObject({ code: "invalid_configuration" });
    expect(socketPathProblem(join(dir, "no", "such", "m.sock"), state)).toMatchObject({ code: "invalid_configuration", message: expect.stringContaining("does not exist") });
  });

  it("accepts an existing socket (a stale one is the manager's to replace)", async () => {
    const path = join(dir, "live.sock");
    const server = createServer();
    await new Promise<void>((r) => server.listen(path, r));
    try {
      expect(socketPathProblem(path, state)).toBeUndefined();
    } finally {
      server.close();
    }
  });
});
