/**
 * One file's part of a plain unified diff (`diff -u`, `diff -ruN`, or hand-made): a `---`
 * line, a `+++` line, and hunks. It names one file; which of the two names, and whether it
 * creates or deletes that file, follows git apply:
 * - /dev/null, or a `diff -N` epoch timestamp, marks the side where the file does not exist;
 * - otherwise the new name is used, unless the old name (leading directory dropped) is a
 *   shorter prefix of it (`f` rather than `f.orig`); a name without a directory is taken whole;
 * - a name standing alone (the other side absent or empty) must have a directory to drop.
 */
import type { FileDiff } from "./file-diff.js";
import type { CarriedHeader } from "./git-file-patch.js";
import { isHunkStart, readHunk, type Hunk } from "./hunk.js";
import { readDashLineName, strippedName, squashSlashes, type DashLineName } from "./patch-names.js";
import { PatchSyntaxError, type PatchText } from "./patch-text.js";

/** The name with its leading directory dropped, or whole when it has none. */
function strippedOrWhole(name: DashLineName): Buffer {
  return strippedName(name.raw) ?? squashSlashes(name.raw);
}

/** A name that stands alone must have a leading directory to drop, and something after it. */
function aloneName(name: DashLineName, line: number): Buffer {
  const stripped = strippedName(name.raw);
  if (!stripped || stripped.length === 0) throw new PatchSyntaxError(`unable to find filename in patch at line ${line}`);
  return stripped;
}

function chooseName(oldSide: DashLineName, newSide: DashLineName, line: number): Buffer {
  if (oldSide.devNull && newSide.devNull) throw new PatchSyntaxError(`unable to find filename in patch at line ${line}: both sides are /dev/null`);
  const newName = newSide.devNull ? null : strippedOrWhole(newSide);
  if (newName === null || newName.length === 0) {
    if (oldSide.devNull) throw new PatchSyntaxError(`unable to find filename in patch at line ${line}`);
    return aloneName(oldSide, line);
  }
  if (oldSide.devNull) return newName;
  const oldName = strippedOrWhole(oldSide);
  if (oldName.length > 0 && oldName.length < newName.length && newName.subarray(0, oldName.length).equals(oldName)) return oldName;
  return newName;
}

/**
 * True when line `i` starts a plain file patch: `--- NAME`, `+++ NAME`, then a line starting
 * with "@@ -". Near the end of a cut-off patch git apply also wants the old name's line and
 * what follows the `+++` line to hold at least 9 bytes together (observed, kept for parity).
 */
export function isPlainFilePatch(text: PatchText, i: number): boolean {
  if (!text.startsWith(i, "--- ") || !text.startsWith(i + 1, "+++ ") || !text.startsWith(i + 2, "@@ -")) return false;
  const oldText = text.contentEnd(i) - text.start(i) - 4;
  return oldText > 0 && oldText + (text.buf.length - text.end(i + 1)) >= 9;
}

/**
 * Reads the plain file patch whose `---` line is line `i` (see isPlainFilePatch). After a
 * `diff --git` line that was no patch (`carried`), git apply treats it differently: it fails
 * on a nameless carried line and on a creation, and never guesses a creation.
 */
export function readPlainFilePatch(text: PatchText, i: number, carried: CarriedHeader | null): { diff: FileDiff; next: number } {
  if (carried && carried.name === null) throw new PatchSyntaxError(`git diff header lacks filename information when removing 1 leading pathname component (line ${carried.line})`);
  const oldSide = readDashLineName(text.buf, text.start(i) + 4, text.contentEnd(i));
  const newSide = readDashLineName(text.buf, text.start(i + 1) + 4, text.contentEnd(i + 1));
  const name = chooseName(oldSide, newSide, i + 1);
  const hunks: Hunk[] = [];
  let j = i + 2;
  while (isHunkStart(text, j)) {
    const { hunk, next } = readHunk(text, j);
    hunks.push(hunk);
    j = next;
  }
  const created = oldSide.devNull || oldSide.epoch;
  const deletes = newSide.devNull || newSide.epoch;
  const shown = name.toString("utf8");
  if (carried && created) throw new PatchSyntaxError(`a plain diff creating ${shown} right after the \`diff --git\` line ${carried.line}, which has no header lines, is not applied`);
  if (created && hunks.some((h) => h.old.ends.length > 0)) throw new PatchSyntaxError(`new file ${shown} depends on old contents`);
  if (deletes && hunks.some((h) => h.new.ends.length > 0)) throw new PatchSyntaxError(`deleted file ${shown} still has contents`);
  // Without a marker, a part that needs no old lines (one such hunk, or none) may be
  // creating the file: that is decided by whether the file exists.
  const mayCreate = !carried && hunks.length <= 1 && (hunks[0]?.oldCount ?? 0) === 0;
  const diff: FileDiff = {
    oldName: created ? null : name,
    newName: deletes ? null : name,
    creates: created ? true : mayCreate && !deletes ? null : false,
    deletes,
    rename: false,
    copy: false,
    oldMode: null,
    newMode: null,
    similarity: null,
    binary: false,
    hunks,
    added: hunks.reduce((n, h) => n + h.added, 0),
    removed: hunks.reduce((n, h) => n + h.removed, 0),
    line: i + 1,
  };
  return { diff, next: j };
}
