import { describe, expect, it } from "vitest";
import { PyroError } from "../../../sdk/src/errors.js";
import { readQuotedName } from "./c-quoted.js";
import { findFileDate } from "./file-dates.js";
import { gitLineName } from "./patch-names.js";
import { parsePatch, PATCH_LIMITS, pathsToRead } from "./parse-patch.js";
import { checkPatchPath } from "./path-check.js";

function parseError(patch: string | Buffer): PyroError {
  try {
    parsePatch(patch);
  } catch (err) {
    if (err instanceof PyroError) return err;
    throw err;
  }
  throw new Error("parsed");
}

describe("parsePatch", () => {
  it("reads git headers: names, modes, renames, copies, and hunk counts", () => {
    const patch = [
      "diff --git a/src/old.js b/lib/new.js",
      "similarity index 90%",
      "rename from src/old.js",
      "rename to lib/new.js",
      "index 1111111..2222222 100644",
      "--- a/src/old.js",
      "+++ b/lib/new.js",
      "@@ -1,3 +1,3 @@",
      " a",
      "-b",
      "+c",
      " d",
      "diff --git a/run.sh b/run.sh",
      "old mode 100644",
      "new mode 100755",
      "diff --git a/e b/e",
      "new file mode 100644",
      "index 0000000..e69de29",
      "",
    ].join("\n");
    const parsed = parsePatch(patch);
    expect(parsed.files.map((f) => [f.oldPath, f.newPath, f.hunks, f.addedLines, f.removedLines, f.refusal])).toEqual([
      ["src/old.js", "lib/new.js", 1, 1, 1, null],
      ["run.sh", "run.sh", 0, 0, 0, null],
      [null, "e", 0, 0, 0, null],
    ]);
    expect(parsed.files[0]!.diff).toMatchObject({ rename: true, oldMode: 0o100644, similarity: 90 });
    expect(parsed.files[1]!.diff).toMatchObject({ oldMode: 0o100644, newMode: 0o100755 });
    expect(pathsToRead(parsed)).toEqual(["src/old.js", "lib/new.js", "run.sh", "e"]);
  });

  it("keeps binary, symlink and unsafe files with their refusal, and reads nothing for them", () => {
    const patch =
      "diff --git a/img.png b/img.png\nindex 1111111..2222222 100644\nBinary files a/img.png and b/img.png differ\n" +
      "diff --git a/link b/link\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc/shadow\n\\ No newline at end of file\n" +
      "--- a/../../etc/x\n+++ b/../../etc/x\n@@ -1 +1 @@\n-a\n+b\n" +
      "--- a/ok.txt\n+++ b/ok.txt\n@@ -1 +1 @@\n-a\n+b\n";
    const parsed = parsePatch(patch);
    expect(parsed.files.map((f) => f.refusal?.code ?? null)).toEqual(["patch_invalid", "patch_invalid", "path_outside_workspace", null]);
    expect(parsed.files[0]!.refusal!.message).toMatch(/binary/);
    expect(parsed.files[1]!.refusal!.message).toMatch(/symbolic links/);
    expect(pathsToRead(parsed)).toEqual(["ok.txt"]);
  });

  it("refuses what is not a usable patch with patch_invalid and the line", () => {
    expect(parseError("hello\n").code).toBe("patch_invalid");
    expect(parseError("").code).toBe("patch_invalid");
    expect(parseError("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n").message).toMatch(/corrupt patch at line 3/);
    expect(parseError("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n@@ -5 +5 @@\n?x\n").message).toMatch(/corrupt patch at line 6/);
    expect(parseError("diff --git a/f b/f\nindex 1..2 100644\n").message).toMatch(/only garbage/);
    expect(parseError("diff --git a/f b/f\nnew file mode 100644\ndeleted file mode 100644\n").message).toMatch(/inconsistent header lines/);
    expect(parseError("diff --git a/f b/f\nold mode 10064x\nnew mode 100755\n").message).toMatch(/invalid mode/);
    expect(parseError("diff --git a/f b/g\nrename from f\nrename to g\n--- a/f\n+++ b/h\n@@ -1 +1 @@\n-a\n+b\n").message).toMatch(/inconsistent new filename/);
    expect(parseError("x\0y").message).toMatch(/NUL/);
  });

  it("bounds the patch: size, files and hunks", () => {
    const big = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+" + "x".repeat(PATCH_LIMITS.maxPatchBytes) + "\n";
    expect(parseError(big).code).toBe("too_large");
    const many = Array.from({ length: PATCH_LIMITS.maxFiles + 1 }, (_, i) => `diff --git a/f${i} b/f${i}\nnew file mode 100644\n`).join("");
    expect(parseError(many).message).toMatch(/more than 2000 files/);
    const hunks = "--- a/f\n+++ b/f\n" + Array.from({ length: PATCH_LIMITS.maxHunks + 1 }, (_, i) => `@@ -${i * 3 + 1},1 +${i * 3 + 1},1 @@\n-a\n+b\n`).join("");
    expect(parseError(hunks).message).toMatch(/more than 20000 hunks/);
  });

  it("takes bytes as they are, CR and invalid UTF-8 included", () => {
    const patch = Buffer.concat([Buffer.from("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-\xff\r\n+ok\r\n", "latin1")]);
    const f = parsePatch(patch).files[0]!;
    expect(f.diff.hunks[0]!.old.bytes).toEqual(Buffer.from([0xff, 0x0d, 0x0a]));
    expect(f.diff.hunks[0]!.new.bytes.toString()).toBe("ok\r\n");
  });
});

describe("patch names", () => {
  it("unquotes C-style names as git writes them", () => {
    const q = (s: string) => readQuotedName(Buffer.from(s, "latin1"), 0, s.length)?.name.toString("utf8");
    expect(q('"a\\tb\\\\c\\"d\\303\\274"')).toBe('a\tb\\c"dü');
    expect(q('"unterminated')).toBeUndefined();
    expect(q('"bad \\q"')).toBeUndefined();
    expect(q('"bad \\400"')).toBeUndefined();
  });

  it("finds the name on a diff --git line only when both sides agree", () => {
    const name = (line: string) => {
      const b = Buffer.from(`${line}\n`);
      return gitLineName(b, "diff --git ".length, b.length - 1)?.toString() ?? null;
    };
    expect(name("diff --git a/x y/z b/x y/z")).toBe("x y/z");
    expect(name('diff --git "a/t\\tx" "b/t\\tx"')).toBe("t\tx");
    expect(name('diff --git a/q "b/q"')).toBe("q");
    expect(name("diff --git a/x b/y")).toBeNull();
  });

  it("reads diff -u timestamps and the epoch of diff -N", () => {
    const ts = (s: string) => {
      const date = findFileDate(s);
      return date ? s.length - date.at : 0;
    };
    expect(ts("a/f\t2024-03-01 10:00:00.123456789 +0100")).toBe(" 2024-03-01 10:00:00.123456789 +0100".length);
    expect(ts("a/f  2024-03-01 10:00:00")).toBe("  2024-03-01 10:00:00".length);
    expect(ts("a/f 2024")).toBe(0);
    const epoch = (s: string) => findFileDate(s)?.epoch ?? false;
    expect(epoch("a/f\t1970-01-01 00:00:00.000000000 +0000")).toBe(true);
    expect(epoch("a/f\t1969-12-31 19:00:00 -0500")).toBe(true);
    expect(epoch("a/f\t1970-01-01 01:00:00.000000000 +01:00")).toBe(true);
    expect(epoch("a/f\t1970-01-01 00:00:01 +0000")).toBe(false);
    expect(epoch("a/f 1970-01-01 00:00:00 +0000")).toBe(false);
  });

  it("accepts only relative paths that stay inside the workspace and outside .git", () => {
    const check = (s: string) => {
      const v = checkPatchPath(Buffer.from(s));
      return v.ok ? v.path : v.code;
    };
    expect(check("src/a b/ü.ts")).toBe("src/a b/ü.ts");
    expect(check("...")).toBe("...");
    expect(check(".gitignore")).toBe(".gitignore");
    expect(check("/etc/passwd")).toBe("path_outside_workspace");
    expect(check("a/../../b")).toBe("path_outside_workspace");
    expect(check("..")).toBe("path_outside_workspace");
    expect(check("a/./b")).toBe("patch_invalid");
    expect(check("a/")).toBe("patch_invalid");
    expect(check("")).toBe("patch_invalid");
    expect(check(".git/config")).toBe("patch_invalid");
    expect(check("sub/.Git/hooks/x")).toBe("patch_invalid");
    expect(check("GIT~1/x")).toBe("patch_invalid");
    expect(check("a\\.git\\x")).toBe("patch_invalid");
    expect(check(`${"d/".repeat(2100)}f`)).toBe("patch_invalid");
    expect(checkPatchPath(Buffer.from([0x61, 0xff])).ok).toBe(false);
  });
});
