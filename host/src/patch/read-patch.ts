/**
 * Finds the file patches in a patch text. Anything that is not a file patch is skipped (a
 * mail's headers, a commit message, `diff -r` lines, a signature), except a hunk header
 * with no file header before it, which makes the whole patch unusable, as for git apply.
 */
import type { FileDiff } from "./file-diff.js";
import { gitLineNameAt, readGitFilePatch, type CarriedHeader } from "./git-file-patch.js";
import { parseHunkHeader } from "./hunk.js";
import { isPlainFilePatch, readPlainFilePatch } from "./plain-file-patch.js";
import { PatchSyntaxError, PatchText } from "./patch-text.js";

/** Bounds on the file patches and hunks one patch may hold. */
export interface PatchCountLimits {
  maxFiles: number;
  maxHunks: number;
}

/** Reads every file patch of `buf`. Throws PatchSyntaxError when the patch is unusable as a whole. */
export function readPatch(buf: Buffer, limits: PatchCountLimits): FileDiff[] {
  const text = new PatchText(buf);
  const files: FileDiff[] = [];
  let hunks = 0;
  const add = (diff: FileDiff) => {
    if (files.length >= limits.maxFiles) throw new PatchSyntaxError(`the patch changes more than ${limits.maxFiles} files`, true);
    hunks += diff.hunks.length;
    if (hunks > limits.maxHunks) throw new PatchSyntaxError(`the patch has more than ${limits.maxHunks} hunks`, true);
    files.push(diff);
  };
  // A diff --git line without header lines is no patch, but what git read there carries on
  // (see CarriedHeader); one without a usable name makes the next header fail.
  let carried: CarriedHeader | null = null;
  const nameless = () => {
    if (carried && carried.name === null) {
      throw new PatchSyntaxError(`git diff header lacks filename information when removing 1 leading pathname component (line ${carried.line})`);
    }
  };
  for (let i = 0; i < text.lineCount; ) {
    if (text.startsWith(i, "diff --git ")) {
      nameless();
      const found = readGitFilePatch(text, i, carried);
      if (found) {
        add(found.diff);
        i = found.next;
        carried = null;
        continue;
      }
      const name = gitLineNameAt(text, i);
      if (name) carried = { name, line: i + 1 };
      else carried ??= { name: null, line: i + 1 };
    } else if (isPlainFilePatch(text, i)) {
      nameless();
      const found = readPlainFilePatch(text, i, carried);
      add(found.diff);
      i = found.next;
      carried = null;
      continue;
    } else if (text.startsWith(i, "@@ -") && parseHunkHeader(text.text(i))) {
      nameless();
      throw new PatchSyntaxError(`hunk without a file header at line ${i + 1}`);
    }
    i++;
  }
  if (files.length === 0) throw new PatchSyntaxError("no file patches found (a unified diff has ---/+++ or diff --git headers and @@ hunks)");
  return files;
}
