import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkspaceResolver } from "./workspace-path.js";
import { relativeLinkStaysInside } from "./link-target.js";

let top: string;
let ws: string;
let r: WorkspaceResolver;

beforeAll(() => {
  top = realpathSync(mkdtempSync(join(tmpdir(), "pyro-resolver-")));
  ws = join(top, "ws");
  mkdirSync(join(ws, "src", "deep"), { recursive: true });
  writeFileSync(join(ws, "src", "a.txt"), "a");
  writeFileSync(join(top, "secret"), "s");
  symlinkSync("src", join(ws, "to-src")); // inside, relative
  symlinkSync(join(ws, "src", "a.txt"), join(ws, "abs-in")); // inside, absolute
  symlinkSync("..", join(ws, "up")); // outside
  symlinkSync("/etc", join(ws, "etc")); // outside, absolute
  symlinkSync("../../secret", join(ws, "src", "leak")); // outside via a parent
  symlinkSync("deep/..", join(ws, "src", "here")); // `..` after a name, inside
  symlinkSync("loop", join(ws, "loop"));
  symlinkSync("nowhere/x", join(ws, "dangling")); // inside, missing
  r = new WorkspaceResolver(ws);
});
afterAll(() => rmSync(top, { recursive: true, force: true }));

const follow = { followFinal: true };
const noFollow = { followFinal: false };

describe("WorkspaceResolver", () => {
  it("resolves relative paths and /workspace/… against the workspace", async () => {
    expect(await r.resolve("", follow)).toMatchObject({ abs: ws, rel: "", missing: 0 });
    expect(await r.resolve("src/a.txt", follow)).toMatchObject({ abs: join(ws, "src/a.txt"), rel: "src/a.txt", missing: 0 });
    expect(await r.resolve("/workspace/src/./a.txt", follow)).toMatchObject({ rel: "src/a.txt" });
    expect(await r.resolve("/workspace", follow)).toMatchObject({ rel: "" });
    expect(await r.resolve(join(ws, "src"), follow)).toMatchObject({ rel: "src" });
    expect(await r.resolve("src/deep/../a.txt", follow)).toMatchObject({ rel: "src/a.txt" });
    expect((await r.resolve("src/a.txt", follow)).stat?.isFile()).toBe(true);
  });

  it("follows symlinks that stay inside, and describes a last one when asked", async () => {
    expect(await r.resolve("to-src/a.txt", follow)).toMatchObject({ rel: "src/a.txt" });
    expect(await r.resolve("abs-in", follow)).toMatchObject({ rel: "src/a.txt" });
    expect(await r.resolve("src/here/a.txt", follow)).toMatchObject({ rel: "src/a.txt" });
    const link = await r.resolve("to-src", noFollow);
    expect(link.rel).toBe("to-src");
    expect(link.stat?.isSymbolicLink()).toBe(true);
    // A symlink leading out is fine to describe or remove: it is not followed.
    expect((await r.resolve("up", noFollow)).stat?.isSymbolicLink()).toBe(true);
  });

  it("reports what is missing", async () => {
    expect(await r.resolve("new.txt", follow)).toMatchObject({ rel: "new.txt", stat: undefined, missing: 1 });
    expect(await r.resolve("a/b/c", follow)).toMatchObject({ rel: "a/b/c", missing: 3 });
    expect(await r.resolve("src/x/y", follow)).toMatchObject({ rel: "src/x/y", missing: 2 });
    expect(await r.resolve("dangling", follow)).toMatchObject({ rel: "nowhere/x", missing: 2 });
    expect(await r.resolve("a/b/../c", follow)).toMatchObject({ rel: "a/c", missing: 2 });
  });

  it.each([
    ["..", "`..` leads out"],
    ["../ws/src", "`..` leads out"],
    ["src/../../secret", "`..` leads out"],
    ["/etc/passwd", "absolute paths must start"],
    ["/workspacefoo", "absolute paths must start"],
    ["/workspace/../etc", "`..` leads out"],
    ["/tmp", "absolute paths must start"],
    ["up/secret", "symlink"],
    ["up", "the symlink \"up\" leads out"],
    ["to-src/../../x", "`..` leads out"],
    ["etc/passwd", "symlink"],
    ["etc", "symlink"],
    ["src/leak", "the symlink \"src/leak\" leads out"],
    ["to-src/leak", "the symlink \"src/leak\" leads out"],
    ["new/../../x", "`..` leads out"],
  ])("refuses %s with path_outside_workspace", async (input, why) => {
    await expect(r.resolve(input, follow)).rejects.toMatchObject({ code: "path_outside_workspace", message: expect.stringContaining(why) });
  });

  it("refuses a symlinked parent that leads out even when the last part is not followed", async () => {
    await expect(r.resolve("up/secret", noFollow)).rejects.toMatchObject({ code: "path_outside_workspace" });
    await expect(r.resolve("etc/passwd", noFollow)).rejects.toMatchObject({ code: "path_outside_workspace" });
  });

  it("refuses NUL, over-long paths, loops and files used as directories", async () => {
    await expect(r.resolve("a\0b", follow)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(r.resolve("a/".repeat(3000), follow)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(r.resolve("loop", follow)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("symlinks") });
    await expect(r.resolve("src/a.txt/x", follow)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("not a directory") });
  });
});

describe("relativeLinkStaysInside", () => {
  it.each([
    ["a", 0, true],
    ["./a/b", 0, true],
    ["../a", 1, true],
    ["../../a", 1, false],
    ["..", 0, false],
    [".", 0, true],
    ["a/../b", 3, false], // `..` after a name: the name may be a symlink
    ["/etc/passwd", 5, false],
    ["", 0, false],
  ])("%s at depth %i: %s", (target, depth, inside) => {
    expect(relativeLinkStaysInside(target, depth)).toBe(inside);
  });
});
