import { describe, expect, it } from "vitest";
import { PyroError } from "../../../sdk/src/errors.js";
import { parsePatch, pathsToRead } from "./parse-patch.js";
import { preflightPatch, type PreflightOptions } from "./preflight.js";
import type { CurrentFile } from "./types.js";

const file = (content: string, mode = 0o644): CurrentFile => ({ kind: "file", content: Buffer.from(content), mode });
const missing: CurrentFile = { kind: "missing" };

function preflight(patch: string, files: Record<string, CurrentFile>, options?: PreflightOptions) {
  const parsed = parsePatch(patch);
  const current = new Map<string, CurrentFile>();
  for (const path of pathsToRead(parsed)) current.set(path, files[path] ?? missing);
  return preflightPatch(parsed, current, options);
}

describe("preflightPatch", () => {
  it("plans deletions first, then writes, and keeps the permissions of the files it rewrites", () => {
    const patch =
      "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n" +
      "diff --git a/d/gone.txt b/d/gone.txt\ndeleted file mode 100644\n--- a/d/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n" +
      "diff --git a/x/old.sh b/y/new.sh\nsimilarity index 100%\nrename from x/old.sh\nrename to y/new.sh\n" +
      "diff --git a/n/new.txt b/n/new.txt\nnew file mode 100755\n--- /dev/null\n+++ b/n/new.txt\n@@ -0,0 +1 @@\n+hi\n";
    const r = preflight(patch, { "a.txt": file("a\n", 0o600), "d/gone.txt": file("bye\n"), "x/old.sh": file("#!/bin/sh\n", 0o750) });
    expect(r.ok).toBe(true);
    expect(r.files.map((f) => [f.path, f.oldPath, f.operation, f.status])).toEqual([
      ["a.txt", "", "modify", "ok"],
      ["d/gone.txt", "", "delete", "ok"],
      ["y/new.sh", "x/old.sh", "rename", "ok"],
      ["n/new.txt", "", "add", "ok"],
    ]);
    expect(r.writes.map((w) => (w.kind === "delete" ? ["delete", w.path, w.removeEmptyParents] : ["write", w.path, w.content.toString(), w.mode.toString(8)]))).toEqual([
      ["delete", "d/gone.txt", true],
      ["delete", "x/old.sh", true],
      ["write", "a.txt", "A\n", "600"],
      ["write", "y/new.sh", "#!/bin/sh\n", "750"],
      ["write", "n/new.txt", "hi\n", "755"],
    ]);
    expect(r).toMatchObject({ changed: true, filesChanged: 4 });
  });

  it("reports every file, and fails as a whole with the first failure's code", () => {
    const patch =
      "--- a/ok.txt\n+++ b/ok.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n" +
      "--- a/bad.txt\n+++ b/bad.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n" +
      "diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+n\n";
    const r = preflight(patch, { "ok.txt": file("a\nb\n"), "bad.txt": file("a\nc\n"), "new.txt": file("there\n") });
    expect(r.ok).toBe(false);
    expect(r.writes).toEqual([]);
    expect(r.files.map((f) => [f.path, f.status, f.code ?? ""])).toEqual([
      ["ok.txt", "ok", ""],
      ["bad.txt", "conflict", "patch_conflict"],
      ["new.txt", "error", "patch_conflict"],
    ]);
    expect(r.files[1]).toMatchObject({ conflictHunk: 1, expectedLines: ["a", "b"], actualLines: ["a", "c"] });
    expect(r.error).toBeInstanceOf(PyroError);
    expect(r.error!.code).toBe("patch_conflict");
    expect(r.error!.message).toMatch(/bad\.txt: hunk 1 of 1 .* \(and 1 more file failed\)/);
    expect(r.error!.hint).toMatch(/workspace reset/);
  });

  it("refuses through symlinks, onto special files, and without the file's state", () => {
    const patch = "--- a/d/f\n+++ b/d/f\n@@ -1 +1 @@\n-a\n+b\n";
    expect(preflight(patch, { "d/f": { kind: "file", content: Buffer.from("a\n"), mode: 0o644, throughSymlink: true } }).files[0]!.code).toBe("path_outside_workspace");
    expect(preflight(patch, { "d/f": { kind: "symlink" } }).files[0]!.code).toBe("patch_conflict");
    expect(preflight(patch, { "d/f": { kind: "directory" } }).files[0]!.message).toMatch(/directory, not a regular file/);
    expect(() => preflightPatch(parsePatch(patch), new Map())).toThrow(/was not read/);
  });

  it("bounds file size and the work of placing hunks", () => {
    const patch = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
    expect(preflight(patch, { f: file("a\n") }, { maxFileBytes: 1 }).files[0]!.code).toBe("too_large");
    // A hunk of repeated lines searched through a file of them: quadratic, so bounded.
    const lines = 2000;
    const repeated = `--- a/f\n+++ b/f\n@@ -5,${lines + 2} +5,${lines + 2} @@\n${" a\n".repeat(lines)}-x\n+y\n a\n`;
    const r = preflight(repeated, { f: file("a\n".repeat(50_000)) }, { workLimit: 1_000_000 });
    expect(r.files[0]).toMatchObject({ status: "error", code: "too_large" });
    expect(r.error!.code).toBe("too_large");
  });

  it("notes a mode other than the patch expected, and counts no change for a patch that changes nothing", () => {
    const patch = "diff --git a/s b/s\nindex 1111111..2222222 100644\n--- a/s\n+++ b/s\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n";
    const r = preflight(patch, { s: file("a\nb\n", 0o755) });
    expect(r.ok).toBe(true);
    expect(r.files[0]!.message).toMatch(/has mode 100755, the patch expected 100644/);
    expect(r).toMatchObject({ changed: false, filesChanged: 0 });
    expect(r.writes).toEqual([{ kind: "write", path: "s", content: Buffer.from("a\nb\n"), mode: 0o755 }]);
  });

  it("builds on an earlier part of the same patch, and refuses a path an earlier part renamed away", () => {
    const twice = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-1\n+2\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-2\n+3\n";
    const r = preflight(twice, { f: file("1\n") });
    expect(r.writes).toEqual([{ kind: "write", path: "f", content: Buffer.from("3\n"), mode: 0o644 }]);
    const gone = "diff --git a/f b/g\nsimilarity index 100%\nrename from f\nrename to g\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-1\n+2\n";
    expect(preflight(gone, { f: file("1\n") }).files[1]).toMatchObject({ status: "error", message: expect.stringMatching(/renamed or deleted by an earlier part/) });
  });
});
