import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { lockFile } from "./file-lock.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-lock-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("lockFile", () => {
  it("excludes a second holder until released, without touching the file's content", async () => {
    const path = join(dir, "a.lock");
    await writeFile(path, "1234\n", { mode: 0o600 });
    const first = await lockFile(path);
    expect(first).toBeDefined();
    expect(await lockFile(path, { wait: false })).toBeUndefined();
    await first!.release();
    await first!.release(); // twice is fine
    const second = await lockFile(path, { wait: false });
    expect(second).toBeDefined();
    await second!.release();
    expect(await readFile(path, "utf8")).toBe("1234\n");
  });

  it("creates a missing lock file owner-only", async () => {
    const lock = await lockFile(join(dir, "new.lock"));
    expect((await stat(join(dir, "new.lock"))).mode & 0o777).toBe(0o600);
    await lock!.release();
  });

  it("a waiter gets the lock as soon as it is released, and can stop waiting", async () => {
    const path = join(dir, "b.lock");
    const held = (await lockFile(path))!;
    let got = false;
    const waiting = lockFile(path).then((l) => ((got = true), l));
    const controller = new AbortController();
    const abandoned = lockFile(path, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 150));
    expect(got).toBe(false);
    controller.abort(new Error("gave up"));
    await expect(abandoned).rejects.toThrow("gave up");
    await held.release();
    const next = await waiting;
    expect(got).toBe(true);
    await next!.release();
  });

  it("does not keep a process alive while held, but does while it is being released", async () => {
    const script = join(dir, "release.ts");
    await writeFile(
      script,
      `import { lockFile } from ${JSON.stringify(resolve(import.meta.dirname, "file-lock.ts"))};\nconst l = await lockFile(${JSON.stringify(join(dir, "d.lock"))});\nawait l.release();\nconsole.log("released");\n`,
    );
    const out = await new Promise<string>((ok) => {
      const child = spawn(resolve(import.meta.dirname, "../../node_modules/.bin/vite-node"), [script], { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.on("data", (d: Buffer) => (text += d.toString()));
      child.once("exit", () => ok(text));
    });
    expect(out).toContain("released");
  });

  it("is released by the kernel when its holder is killed with SIGKILL", async () => {
    const path = join(dir, "c.lock");
    const script = join(dir, "hold.ts");
    await writeFile(script, `import { lockFile } from ${JSON.stringify(resolve(import.meta.dirname, "file-lock.ts"))};\nawait lockFile(${JSON.stringify(path)});\nconsole.log("held");\nsetInterval(() => {}, 1000);\n`);
    const holder = spawn(resolve(import.meta.dirname, "../../node_modules/.bin/vite-node"), [script], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((ok, fail) => {
        let out = "";
        holder.stdout.on("data", (d: Buffer) => (out += d.toString()).includes("held") && ok());
        holder.once("exit", (code) => fail(new Error(`holder exited with ${code}`)));
      });
      expect(await lockFile(path, { wait: false })).toBeUndefined();
      holder.kill("SIGKILL");
      // Bounded: the helper sees end of file on its pipe at once.
      const lock = await lockFile(path, { signal: AbortSignal.timeout(5_000) });
      expect(lock).toBeDefined();
      await lock!.release();
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
