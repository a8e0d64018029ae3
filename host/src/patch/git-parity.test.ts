/**
 * Hand-written edge cases from git's own semantics, each applied by the engine and by
 * `git apply` to the same tree: both must accept or both refuse, and leave identical trees.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { applyBothWays, gitDiffBetween, scratch, writeTree, type ParityOutcome, type TreeSpec } from "./testing-parity.js";

let root: { dir: string; done: () => Promise<void> };
let n = 0;
beforeAll(async () => {
  root = await scratch("pyro-patch-parity-");
});
afterAll(async () => {
  await root.done();
});

/** Applies `patch` to `base` both ways and checks that git and the engine agree. */
async function parity(base: TreeSpec, patch: string | Buffer, expectOk: boolean): Promise<ParityOutcome> {
  const dir = join(root.dir, String(n++));
  await writeTree(join(dir, "base"), base);
  const out = await applyBothWays(join(dir, "base"), Buffer.from(patch), dir);
  expect({ engineOk: out.engineOk, treeDiff: out.treeDiff }, `git said: ${out.gitStderr}; engine said: ${out.engineError?.message}`).toEqual({ engineOk: out.gitOk, treeDiff: [] });
  expect(out.gitOk, `git said: ${out.gitStderr}`).toBe(expectOk);
  return out;
}

/** A patch made by git from `from` to `to`, applied to `base` (default: `from`). */
async function parityDiff(from: TreeSpec, to: TreeSpec, args: string[], expectOk: boolean, base: TreeSpec = from): Promise<ParityOutcome> {
  return parity(base, await gitDiffBetween(from, to, args), expectOk);
}

const lines = (count: number, prefix = "line") => Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}\n`).join("");

describe("patch engine against git apply: line endings", () => {
  it("adds the missing newline at the end of a file", async () => {
    await parityDiff({ "a.txt": "one\ntwo" }, { "a.txt": "one\ntwo\n" }, [], true);
  });
  it("removes the newline at the end of a file", async () => {
    await parityDiff({ "a.txt": "one\ntwo\n" }, { "a.txt": "one\ntwo" }, [], true);
  });
  it("changes a last line that has no newline on either side", async () => {
    await parityDiff({ "a.txt": "one\ntwo" }, { "a.txt": "one\nTWO" }, [], true);
  });
  it("patches a CRLF file byte for byte", async () => {
    await parityDiff({ "w.txt": "a\r\nb\r\nc\r\n" }, { "w.txt": "a\r\nB\r\nc\r\n" }, [], true);
  });
  it("refuses an LF patch on a CRLF file (lines compare with their \\r)", async () => {
    const out = await parityDiff({ "w.txt": "a\nb\nc\n" }, { "w.txt": "a\nB\nc\n" }, [], false, { "w.txt": "a\r\nb\r\nc\r\n" });
    expect(out.preflight?.files[0]).toMatchObject({ status: "conflict", conflictHunk: 1, expectedLines: ["a", "b", "c"], actualLines: ["a\r", "b\r", "c\r"] });
  });
  it("refuses a whole patch saved with CRLF line ends on an LF file", async () => {
    const patch = (await gitDiffBetween({ "a.txt": "x\ny\n" }, { "a.txt": "x\nY\n" })).toString().replace(/\n/g, "\r\n");
    await parity({ "a.txt": "x\ny\n" }, patch, false);
  });
  it("matches a context line without newline against a line that has one, as git does", async () => {
    const patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n x\n-a\n+A\n b\n\\ No newline at end of file\n";
    await parity({ f: "x\na\nb\nc\n" }, patch, true);
  });
  it("treats an empty line in a hunk as an empty context line", async () => {
    await parity({ f: "a\n\nb\n" }, "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n", true);
  });
});

describe("patch engine against git apply: kinds of change", () => {
  it("renames a file without changes", async () => {
    await parityDiff({ "src/a.js": lines(20) }, { "lib/b.js": lines(20) }, ["-M"], true);
  });
  it("renames a file with changes and a mode change", async () => {
    const out = await parityDiff({ "src/a.js": lines(20) }, { "lib/b.js": { content: lines(20).replace("line 5\n", "five\n"), mode: 0o755 } }, ["-M"], true);
    expect(out.preflight?.files[0]).toMatchObject({ path: "lib/b.js", oldPath: "src/a.js", operation: "rename", status: "ok" });
  });
  it("copies a file", async () => {
    const out = await parityDiff({ "a.txt": lines(30) }, { "a.txt": lines(30), "b.txt": lines(30).replace("line 2\n", "two\n") }, ["-C", "--find-copies-harder"], true);
    expect(out.preflight?.files[0]).toMatchObject({ path: "b.txt", oldPath: "a.txt", operation: "copy" });
  });
  it("changes only a mode", async () => {
    const out = await parityDiff({ "run.sh": "echo hi\n" }, { "run.sh": { content: "echo hi\n", mode: 0o755 } }, [], true);
    expect(out.preflight?.files[0]).toMatchObject({ operation: "mode", hunks: 0 });
  });
  it("adds an empty file and an executable one in a new directory", async () => {
    await parityDiff({ "keep.txt": "k\n" }, { "keep.txt": "k\n", "empty.txt": "", "bin/tool": { content: "#!/bin/sh\n", mode: 0o755 } }, [], true);
  });
  it("deletes files, and the directories they leave empty", async () => {
    await parityDiff({ "keep.txt": "k\n", "d/e/gone.txt": "bye\n", "empty.txt": "" }, { "keep.txt": "k\n" }, [], true);
  });
  it("refuses a deletion when the file has other content", async () => {
    await parityDiff({ "a.txt": "one\n" }, {}, [], false, { "a.txt": "one\ntwo\n" });
  });
  it("refuses deleting an empty file that is not empty", async () => {
    const out = await parityDiff({ "e.txt": "" }, {}, [], false, { "e.txt": "now full\n" });
    expect(out.preflight?.files[0]).toMatchObject({ operation: "delete", status: "error", code: "patch_conflict" });
  });
  it("refuses adding a file that exists", async () => {
    const out = await parityDiff({}, { "a.txt": "new\n" }, [], false, { "a.txt": "old\n" });
    expect(out.preflight?.files[0]).toMatchObject({ operation: "add", status: "error", code: "patch_conflict" });
  });
  it("refuses modifying or deleting a file that does not exist", async () => {
    await parityDiff({ "a.txt": "a\n" }, { "a.txt": "b\n" }, [], false, {});
    await parityDiff({ "a.txt": "a\n" }, {}, [], false, {});
  });
  it("swaps two files by renaming each onto the other", async () => {
    const patch = "diff --git a/x b/y\nsimilarity index 100%\nrename from x\nrename to y\ndiff --git a/y b/x\nsimilarity index 100%\nrename from y\nrename to x\n";
    await parity({ x: "ex\n", y: "why\n" }, patch, true);
  });
  it("replaces a file by a directory of the same name", async () => {
    await parityDiff({ a: "file\n" }, { "a/b": "inside\n" }, [], true);
  });
  it("replaces a directory by a file of the same name", async () => {
    await parityDiff({ "a/b": "inside\n" }, { a: "file\n" }, [], true);
  });
});

describe("patch engine against git apply: hunks", () => {
  const before = lines(60);
  const after = before.replace("line 10\n", "ten\n").replace("line 30\n", "thirty\n").replace("line 50\n", "fifty\n");
  it("applies several hunks", async () => {
    const out = await parityDiff({ f: before }, { f: after }, [], true);
    expect(out.preflight?.files[0]).toMatchObject({ hunks: 3, addedLines: 3, removedLines: 3 });
  });
  it("finds hunks that moved by some lines", async () => {
    await parityDiff({ f: before }, { f: after }, [], true, { f: lines(7, "new") + before });
    await parityDiff({ f: before }, { f: after }, [], true, { f: before.replace("line 20\n", "") });
  });
  it("reports a conflicting hunk with its number, expected and actual lines", async () => {
    const out = await parityDiff({ f: before }, { f: after }, [], false, { f: before.replace("line 31\n", "changed 31\n") });
    const r = out.preflight!.files[0]!;
    expect(r).toMatchObject({ status: "conflict", code: "patch_conflict", conflictHunk: 2 });
    expect(r.expectedLines).toEqual(["line 27", "line 28", "line 29", "line 30", "line 31", "line 32", "line 33"]);
    expect(r.actualLines).toEqual(["line 27", "line 28", "line 29", "line 30", "changed 31", "line 32", "line 33"]);
    expect(r.message).toMatch(/hunk 2 of 3/);
  });
  it("accepts hunk headers without counts", async () => {
    await parity({ f: "a\n" }, "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n", true);
  });
  it("applies hunks given out of order", async () => {
    const patch = "--- a/f\n+++ b/f\n@@ -49,3 +49,3 @@\n line 49\n-line 50\n+fifty\n line 51\n@@ -9,3 +9,3 @@\n line 9\n-line 10\n+ten\n line 11\n";
    await parity({ f: before }, patch, true);
  });
  it("refuses a hunk whose context overlaps lines an earlier hunk wrote", async () => {
    const patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n@@ -3,3 +3,3 @@\n 3\n-4\n+Y\n 5\n";
    await parity({ f: "1\n2\n3\n4\n5\n" }, patch, false);
  });
  it("applies zero-context hunks only where git does", async () => {
    await parityDiff({ f: before }, { f: after }, ["-U0"], false);
    await parityDiff({ f: "a\nb\n" }, { f: "a\nb\nc\n" }, ["-U0"], true);
  });
  it("has no whitespace tolerance", async () => {
    await parityDiff({ f: "a\nb \nc\n" }, { f: "a\nB\nc\n" }, [], false, { f: "a\nb\nc\n" });
  });
  it("anchors a hunk at line 1 to the start of the file", async () => {
    await parityDiff({ f: "a\nb\nc\nd\n" }, { f: "A\nb\nc\nd\n" }, [], false, { f: "z\na\nb\nc\nd\n" });
  });
});

describe("patch engine against git apply: headers and names", () => {
  it("reads quoted names with spaces, tabs, quotes and non-ASCII letters", async () => {
    const names = ["with space.txt", "tab\there.txt", 'quote"d.txt', "ünïcödé.txt", "dir ü/x.txt"];
    const from = Object.fromEntries(names.map((n) => [n, "old\n"]));
    const to = Object.fromEntries(names.map((n) => [n, "new\n"]));
    const out = await parityDiff(from, to, [], true);
    expect(out.preflight!.files.map((f) => f.path).sort()).toEqual([...names].sort());
    await parityDiff({ "a b.txt": lines(10) }, { "c d/e f.txt": lines(10) }, ["-M"], true);
  });
  it("reads plain diff -u headers with timestamps, and -N's epoch for added and deleted files", async () => {
    const patch =
      "diff -ruN a/keep.txt b/keep.txt\n--- a/keep.txt\t2024-03-01 10:00:00.000000000 +0100\n+++ b/keep.txt\t2024-03-02 11:30:00.123456789 +0100\n@@ -1,2 +1,2 @@\n k\n-x\n+y\n" +
      "diff -ruN a/new.txt b/new.txt\n--- a/new.txt\t1970-01-01 01:00:00.000000000 +0100\n+++ b/new.txt\t2024-03-02 11:30:00.000000000 +0100\n@@ -0,0 +1 @@\n+fresh\n" +
      "diff -ruN a/old.txt b/old.txt\n--- a/old.txt\t2024-03-01 10:00:00.000000000 +0100\n+++ b/old.txt\t1969-12-31 19:00:00.000000000 -0500\n@@ -1 +0,0 @@\n-stale\n";
    const out = await parity({ "keep.txt": "k\nx\n", "old.txt": "stale\n" }, patch, true);
    expect(out.preflight!.files.map((f) => f.operation)).toEqual(["modify", "add", "delete"]);
  });
  it("guesses -p0 from bare file names in a plain diff", async () => {
    await parity({ "f.c": "int x;\n" }, "--- f.c.orig\n+++ f.c\n@@ -1 +1 @@\n-int x;\n+int y;\n", true);
  });
  it("creates a file from a plain diff whose old file is missing", async () => {
    await parity({}, "--- a/sub/n.txt\n+++ b/sub/n.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n", true);
  });
  it("applies two plain diffs of the same file in turn", async () => {
    const patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-B\n+BB\n c\n";
    await parity({ f: "a\nb\nc\n" }, patch, true);
  });
  it("ignores text around the diffs (mail headers, commit message, signature)", async () => {
    const diff = (await gitDiffBetween({ f: "a\n" }, { f: "b\n" })).toString();
    const mail = `From 1234 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] change\n\nA message.\n---\n f | 2 +-\n\n${diff}-- \n2.39.5\n\n`;
    await parity({ f: "a\n" }, mail, true);
  });
  it("refuses binary patches clearly", async () => {
    const bin = Buffer.from([0, 1, 2, 3, 255, 0, 7]);
    const plain = await gitDiffBetween({ "b.bin": bin }, { "b.bin": Buffer.concat([bin, bin]) });
    const out = await parity({ "b.bin": bin }, plain, false);
    expect(out.preflight!.files[0]).toMatchObject({ status: "error", code: "patch_invalid", message: expect.stringMatching(/binary/) });
    // git applies a full binary patch; the engine refuses it, and writes nothing.
    const full = await gitDiffBetween({ "b.bin": bin, "t.txt": "a\n" }, { "b.bin": Buffer.concat([bin, bin]), "t.txt": "b\n" }, ["--binary"]);
    const dir = join(root.dir, "binary");
    await writeTree(join(dir, "base"), { "b.bin": bin, "t.txt": "a\n" });
    const both = await applyBothWays(join(dir, "base"), full, dir);
    expect(both.gitOk).toBe(true);
    expect(both.engineOk).toBe(false);
    expect(both.preflight!.files.map((f) => f.status)).toEqual(["error", "ok"]);
    expect(both.engineError?.code).toBe("patch_invalid");
  });
  it("refuses paths outside the workspace and inside .git, as git does", async () => {
    const cases: Array<[string, string]> = [
      ["diff --git a/../x b/../x\n--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n", "path_outside_workspace"],
      ["diff --git a//etc/passwd b//etc/passwd\n--- a//etc/passwd\n+++ b//etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "path_outside_workspace"],
      // -p1 takes the leading slash away: this names etc/passwd inside the workspace (missing here).
      ["--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "patch_conflict"],
      ["--- a/d/../../x\n+++ b/d/../../x\n@@ -1 +1 @@\n-a\n+b\n", "path_outside_workspace"],
      ["diff --git a/.git/config b/.git/config\n--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n", "patch_invalid"],
      ["--- a/x/.GIT./hooks/pre-commit\n+++ b/x/.GIT./hooks/pre-commit\n@@ -0,0 +1 @@\n+evil\n", "patch_invalid"],
      ['diff --git "a/\\056\\056/y" "b/\\056\\056/y"\n--- "a/\\056\\056/y"\n+++ "b/\\056\\056/y"\n@@ -1 +1 @@\n-a\n+b\n', "path_outside_workspace"],
    ];
    for (const [patch, code] of cases) {
      const out = await parity({ x: "a\n", ".git/config": "a\n", "d/y": "a\n" }, patch, false);
      expect(out.engineError?.code, patch).toBe(code);
    }
  });
  it("refuses to patch a symlink, or a file reached through a symlinked directory", async () => {
    const dir = join(root.dir, "links");
    await writeTree(join(dir, "base"), { "real/f": "a\n" });
    await symlink("real", join(dir, "base", "link"));
    await symlink("real/f", join(dir, "base", "flink"));
    const through = await applyBothWays(join(dir, "base"), Buffer.from("diff --git a/link/f b/link/f\n--- a/link/f\n+++ b/link/f\n@@ -1 +1 @@\n-a\n+b\n"), dir);
    expect([through.gitOk, through.engineOk, through.engineError?.code]).toEqual([false, false, "path_outside_workspace"]);
    const added = await applyBothWays(join(dir, "base"), Buffer.from("diff --git a/link/g b/link/g\nnew file mode 100644\n--- /dev/null\n+++ b/link/g\n@@ -0,0 +1 @@\n+x\n"), dir);
    expect([added.gitOk, added.engineOk, added.treeDiff]).toEqual([false, false, []]);
    const onLink = await applyBothWays(join(dir, "base"), Buffer.from("diff --git a/flink b/flink\nindex 1111111..2222222 100644\n--- a/flink\n+++ b/flink\n@@ -1 +1 @@\n-real/f\n+x\n"), dir);
    expect([onLink.gitOk, onLink.engineOk, onLink.treeDiff]).toEqual([false, false, []]);
  });
  it("refuses text that is not a patch, and hunks without a file header", async () => {
    const out = await parity({ f: "a\n" }, "just some text\n", false);
    expect(out.engineError?.code).toBe("patch_invalid");
    await parity({ f: "a\n" }, "@@ -1 +1 @@\n-a\n+b\n", false);
    await parity({ f: "a\n" }, "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+b\n", false);
  });
});

describe("patch engine against git apply: corner cases of git's reading", () => {
  it("matches an old line without newline against a file line that goes on with whitespace only", async () => {
    const patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n x\n-a\n+A\n b\n\\ No newline at end of file\n";
    await parity({ f: "x\na\nb\r\nc\n" }, patch, true);
    await parity({ f: "x\na\nbb\nc\n" }, patch, false);
  });
  it("takes a marker right after a hunk only when more than 12 bytes of the patch follow it", async () => {
    const hunk = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n";
    await parity({ f: "1\n2\n3\n4\n" }, `${hunk}\\ x\n`, true);
    await parity({ f: "1\n2\n3\n4\n" }, `${hunk}\\ x\n${"\n".repeat(10)}`, true);
  });
  it("puts a zero-context insertion at the end of the file, as git does", async () => {
    await parity({ f: "a\nb\nc\n" }, "--- a/f\n+++ b/f\n@@ -1,0 +2 @@\n+x\n", false);
    await parity({ f: "a\nb\nc\n" }, "--- a/f\n+++ b/f\n@@ -2,0 +3 @@\n+x\n", true);
  });
  it("renames where a git header's ---/+++ names differ, keeping the directory it empties", async () => {
    await parity({ "d/f": "y\n" }, "diff --git a/d/f b/d/f\n--- a/d/f\n+++ b/g\n@@ -1 +1 @@\n-y\n+z\n", true);
  });
  it("keeps a file a patch adds and then deletes (removals come before writes)", async () => {
    const add = "diff --git a/f b/f\nnew file mode 100644\n--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+y\n";
    const del = "diff --git a/f b/f\ndeleted file mode 100644\n--- a/f\n+++ /dev/null\n@@ -1 +0,0 @@\n-y\n";
    await parity({}, add + del, true);
    await parity({ f: "y\n" }, del + add, true);
  });
  it("carries a diff --git line without header lines into the next file patch", async () => {
    const modify = "--- a/m\n+++ b/m\n@@ -1 +1 @@\n-a\n+b\n";
    await parity({ m: "a\n" }, `diff --git a/x b/x\nsome text\n${modify}`, true);
    await parity({ m: "a\n" }, `diff --git a/x b/y\nsome text\n${modify}`, false);
    await parity({}, "diff --git a/x b/x\nsome text\n--- a/n\n+++ b/n\n@@ -0,0 +1 @@\n+a\n", false);
  });
  it("reads modes from index lines, and refuses an index line whose mode is empty", async () => {
    const body = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
    await parity({ f: { content: "a\n", mode: 0o755 } }, `diff --git a/f b/f\nindex 1111111..2222222 100644\n${body}`, true);
    await parity({ f: "a\n" }, `diff --git a/f b/f\nindex 1111111..2222222 \n${body}`, false);
    await parity({ f: "a\n" }, "diff --git a/f b/f\nold mode 100755\nnew mode 100644\nindex 1111111..2222222 100644\n", false);
  });
  it("does not read a cut-off header line", async () => {
    await parity({}, "diff --git a/f b/f\nnew file mode 100644\n--- /dev/null\n+++ b/g", true);
    await parity({ f: "a\n" }, "diff --git a/f b/f\nold mode 100644\nnew mode 100755", false);
  });
  it("chooses the name of a plain diff as git does", async () => {
    const hunk = "@@ -1 +1 @@\n-a\n+b\n";
    for (const [oldName, newName] of [["a/f", "b/f.orig"], ["a/f.orig", "b/f"], ["a/x/f", "b/y/f"], ["f", "g"], ["a/f", "b/x/y/f"]]) {
      await parity({ f: "a\n", "f.orig": "a\n", g: "a\n", "x/f": "a\n", "y/f": "a\n", "x/y/f": "a\n" }, `--- ${oldName}\n+++ ${newName}\n${hunk}`, true);
    }
    await parity({ f: "a\n" }, `--- f\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n`, false);
  });
  it("refuses up front what git apply fails on halfway through writing", async () => {
    const add = (path: string) => `diff --git a/${path} b/${path}\nnew file mode 100644\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1 @@\n+n\n`;
    const del = (path: string) => `diff --git a/${path} b/${path}\ndeleted file mode 100644\n--- a/${path}\n+++ /dev/null\n@@ -1 +0,0 @@\n-n\n`;
    let k = 0;
    for (const [base, patch] of [
      [{ d: "y\n" }, add("d/x")],
      [{}, add("d") + del("d") + add("d/x")],
    ] as const) {
      const dir = join(root.dir, `halfway-${k++}`);
      await writeTree(join(dir, "base"), base);
      const out = await applyBothWays(join(dir, "base"), Buffer.from(patch), dir);
      expect([out.gitOk, out.engineOk, out.engineError?.code]).toEqual([false, false, "patch_conflict"]);
    }
  });
});
