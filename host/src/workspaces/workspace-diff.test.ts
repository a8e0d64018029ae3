import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { describe, expect, it } from "vitest";
import { diffTrees } from "./workspace-diff.js";
import { indexArchive } from "./tree-index.js";

/** A tar of `dir`'s contents, made by GNU tar, as the guest's export is. */
function tarOf(dir: string): Buffer {
  return execFileSync("tar", ["-C", dir, "-cf", "-", "."]);
}
async function* once(b: Buffer) {
  yield b;
}

describe("workspace diff", () => {
  it("gives a patch that git apply turns the baseline into the current tree with", async () => {
    const base = mkdtempSync(join(tmpdir(), "diff-base-"));
    writeFileSync(join(base, "keep.txt"), "same\n");
    writeFileSync(join(base, "edit.txt"), "one\ntwo\nthree\n");
    writeFileSync(join(base, "gone.txt"), "bye\n");
    writeFileSync(join(base, "noeol.txt"), "a\nb");
    writeFileSync(join(base, "run.sh"), "#!/bin/sh\n");
    writeFileSync(join(base, "bin.dat"), Buffer.from([0, 1, 2]));
    const baseline = tarOf(base);
    const cur = mkdtempSync(join(tmpdir(), "diff-cur-"));
    execFileSync("cp", ["-a", `${base}/.`, cur]);
    writeFileSync(join(cur, "edit.txt"), "one\n2\nthree\nfour\n");
    execFileSync("rm", [join(cur, "gone.txt")]);
    mkdirSync(join(cur, "new dir"));
    writeFileSync(join(cur, "new dir", "hello.txt"), "hello\n");
    writeFileSync(join(cur, "noeol.txt"), "a\nc");
    chmodSync(join(cur, "run.sh"), 0o755);
    writeFileSync(join(cur, "bin.dat"), Buffer.from([0, 1, 3]));
    symlinkSync("keep.txt", join(cur, "link"));
    const d = diffTrees(await indexArchive(once(baseline)), await indexArchive(once(tarOf(cur))));
    expect(d.changed).toBe(true);
    expect(d.entries.map((e) => `${e.change}:${e.path}${e.binary ? ":binary" : ""}`)).toEqual([
      "modified:bin.dat:binary",
      "modified:edit.txt",
      "deleted:gone.txt",
      "added:link",
      "added:new dir",
      "added:new dir/hello.txt",
      "modified:noeol.txt",
      "mode_changed:run.sh",
    ]);
    // The text part of the diff applies to the baseline with git and gives the current text files.
    const check = mkdtempSync(join(tmpdir(), "diff-check-"));
    execFileSync("cp", ["-a", `${base}/.`, check]);
    writeFileSync(join(check, "p.diff"), d.patch);
    execFileSync("git", ["apply", "--unsafe-paths", "p.diff"], { cwd: check });
    for (const f of ["edit.txt", "noeol.txt", "new dir/hello.txt"]) expect(readFileSync(join(check, f), "utf8")).toBe(readFileSync(join(cur, f), "utf8"));
    expect(execFileSync("stat", ["-c", "%a", join(check, "run.sh")]).toString().trim()).toBe("755");
  });

  it("says unchanged for the same tree", async () => {
    const base = mkdtempSync(join(tmpdir(), "diff-same-"));
    writeFileSync(join(base, "a"), "x\n");
    const t = tarOf(base);
    const d = diffTrees(await indexArchive(once(t)), await indexArchive(once(t)));
    expect(d).toEqual({ changed: false, patch: "", entries: [], truncated: false });
  });

  it("indexes a hostile archive without writing anything or keeping unbounded bytes", async () => {
    const p = pack();
    p.entry({ name: "../../etc/passwd" }, "x");
    p.entry({ name: "/abs" }, "y");
    p.entry({ name: "dev", type: "character-device", devmajor: 1, devminor: 3 });
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
    const idx = await indexArchive(once(Buffer.concat(chunks)));
    expect([...idx.keys()].sort()).toEqual(["abs", "dev"]);
    expect(idx.get("dev")!.type).toBe("other");
  });
});
