import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireLock, AlreadyRunning } from "./single-instance.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-instance-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("acquireLock", () => {
  it("lets one manager in, names it to the next, and empties the file on release", async () => {
    const path = join(dir, "manager.sock.lock");
    const release = await acquireLock(path);
    expect(await readFile(path, "utf8")).toBe(`${process.pid}\n`);
    const err = await acquireLock(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlreadyRunning);
    expect((err as AlreadyRunning).pid).toBe(process.pid);
    await release();
    expect(await readFile(path, "utf8")).toBe("");
    await (await acquireLock(path))();
  });

  it("is not wedged by a lock file naming a live, unrelated pid (a reused pid)", async () => {
    const path = join(dir, "manager.sock.lock");
    await writeFile(path, "1\n"); // init is always alive
    const release = await acquireLock(path);
    expect(await readFile(path, "utf8")).toBe(`${process.pid}\n`);
    await release();
  });

  it("refuses to take over a file that is not a pyro lock file", async () => {
    const path = join(dir, "notes.lock");
    await writeFile(path, "my notes\n");
    await expect(acquireLock(path)).rejects.toMatchObject({ code: "invalid_configuration" });
    expect(await readFile(path, "utf8")).toBe("my notes\n");
  });
});
