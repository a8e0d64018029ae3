/**
 * One file's part of a `git diff`: the `diff --git a/X b/X` line, the extended header lines
 * that follow it (modes, creation, deletion, rename, copy, similarity, index, and the
 * `---`/`+++` names), then its hunks or a binary marker.
 */
import { readQuotedName } from "./c-quoted.js";
import type { FileDiff } from "./file-diff.js";
import { isHunkStart, readHunk, type Hunk } from "./hunk.js";
import { gitLineName, readDashLineName, strippedName } from "./patch-names.js";
import { PatchSyntaxError, type PatchText } from "./patch-text.js";

type Unset = undefined;

/** The header being read. Names are undefined until a line sets them. */
interface HeaderState {
  /** The name on the diff --git line, when both of its sides agree. */
  lineName: Buffer | null;
  oldName: Buffer | null | Unset;
  newName: Buffer | null | Unset;
  creates: boolean;
  deletes: boolean;
  rename: boolean;
  copy: boolean;
  oldMode: number | null;
  newMode: number | null;
  similarity: number | null;
  /** Line (1-based) of the first creation, deletion, rename or copy line. */
  kindLine: number;
  kind: "" | "creates" | "deletes" | "rename" | "copy";
}

function parseMode(text: string, line: number): number {
  const m = /^ *([0-7]+)[ \t\r]*$/.exec(text);
  if (!m) throw new PatchSyntaxError(`invalid mode on line ${line}: ${text.trim()}`);
  return parseInt(m[1]!, 8);
}

/** A rename or copy name: C-quoted, or the rest of the line up to a CR. */
function headerName(text: PatchText, i: number, prefixLength: number): Buffer {
  const start = text.start(i) + prefixLength;
  const end = text.contentEnd(i);
  if (text.buf[start] === 0x22) {
    const quoted = readQuotedName(text.buf, start, end);
    if (quoted) return quoted.name;
  }
  const cr = text.buf.indexOf(0x0d, start);
  return Buffer.from(text.buf.subarray(start, cr >= 0 && cr < end ? cr : end));
}

function setKind(state: HeaderState, kind: HeaderState["kind"], line: number): void {
  if (state.kind && state.kind !== kind) throw new PatchSyntaxError(`inconsistent header lines ${state.kindLine} and ${line}`);
  if (!state.kind) {
    state.kind = kind;
    state.kindLine = line;
  }
}

/**
 * A name on a ---/+++ line of a git header. Where the header creates (---) or deletes (+++)
 * the file it must be /dev/null (then null). Otherwise /dev/null is an ordinary name, and a
 * name without a leading directory to drop counts as no name (undefined).
 */
function dashName(text: PatchText, i: number, expectDevNull: boolean, line: number): Buffer | null | Unset {
  const name = readDashLineName(text.buf, text.start(i) + 4, text.contentEnd(i));
  if (expectDevNull) {
    if (!name.devNull) throw new PatchSyntaxError(`bad git diff: expected /dev/null on line ${line}`);
    return null;
  }
  const stripped = strippedName(name.raw);
  return stripped && stripped.length > 0 ? Buffer.from(stripped) : undefined;
}

/** A name given twice (by a rename or copy line, or by creation or deletion, and by ---/+++) must agree. */
function agree(current: Buffer | null | Unset, name: Buffer | null | Unset, which: string, line: number): Buffer | null | Unset {
  if (current === undefined) return name;
  if (!current || !name || !current.equals(name)) throw new PatchSyntaxError(`bad git diff: inconsistent ${which} filename on line ${line}`);
  return current;
}

/** Handles extended header line `i`; false when it is not one (the header ends there). */
function readHeaderLine(text: PatchText, i: number, s: HeaderState): boolean {
  // A cut-off last line (no newline) is not read as a header line.
  if (!text.hasNewline(i)) return false;
  const line = i + 1;
  const rest = (prefix: string) => text.buf.toString("latin1", text.start(i) + prefix.length, text.contentEnd(i));
  if (text.startsWith(i, "--- ")) {
    if (s.creates && s.oldName !== undefined) throw new PatchSyntaxError(`bad git diff: expected /dev/null on line ${line}`);
    const name = dashName(text, i, s.creates, line);
    if (!s.creates) s.oldName = agree(s.oldName, name, "old", line);
  } else if (text.startsWith(i, "+++ ")) {
    if (s.deletes && s.newName !== undefined) throw new PatchSyntaxError(`bad git diff: expected /dev/null on line ${line}`);
    const name = dashName(text, i, s.deletes, line);
    if (!s.deletes) s.newName = agree(s.newName, name, "new", line);
  } else if (text.startsWith(i, "old mode ")) s.oldMode = parseMode(rest("old mode "), line);
  else if (text.startsWith(i, "new mode ")) s.newMode = parseMode(rest("new mode "), line);
  else if (text.startsWith(i, "deleted file mode ")) {
    setKind(s, "deletes", line);
    s.deletes = true;
    s.oldMode = parseMode(rest("deleted file mode "), line);
    if (s.oldName === undefined && s.lineName) s.oldName = s.lineName;
  } else if (text.startsWith(i, "new file mode ")) {
    setKind(s, "creates", line);
    s.creates = true;
    s.newMode = parseMode(rest("new file mode "), line);
    if (s.newName === undefined && s.lineName) s.newName = s.lineName;
  } else if (text.startsWith(i, "rename from ") || text.startsWith(i, "rename old ")) {
    setKind(s, "rename", line);
    s.rename = true;
    s.oldName = headerName(text, i, text.startsWith(i, "rename from ") ? "rename from ".length : "rename old ".length);
  } else if (text.startsWith(i, "rename to ") || text.startsWith(i, "rename new ")) {
    setKind(s, "rename", line);
    s.rename = true;
    s.newName = headerName(text, i, text.startsWith(i, "rename to ") ? "rename to ".length : "rename new ".length);
  } else if (text.startsWith(i, "copy from ")) {
    setKind(s, "copy", line);
    s.copy = true;
    s.oldName = headerName(text, i, "copy from ".length);
  } else if (text.startsWith(i, "copy to ")) {
    setKind(s, "copy", line);
    s.copy = true;
    s.newName = headerName(text, i, "copy to ".length);
  } else if (text.startsWith(i, "similarity index ") || text.startsWith(i, "dissimilarity index ")) {
    const m = /index (\d+)/.exec(text.text(i).slice(0, 40));
    s.similarity = m ? Number(m[1]) : null;
  } else if (text.startsWith(i, "index ")) {
    // index OLD..NEW[ MODE]: the mode (which a later line may override) is what the file had.
    const after = rest("index ");
    const dots = after.indexOf("..");
    const space = dots < 0 ? -1 : after.indexOf(" ", dots + 2);
    if (space >= 0) s.oldMode = parseMode(after.slice(space + 1), line);
  } else return false;
  return true;
}

/** A line that marks the file's change as binary: git's binary patch, or "Binary files … differ". */
function isBinaryMarker(text: PatchText, i: number): boolean {
  if (i >= text.lineCount) return false;
  const line = text.buf.toString("latin1", text.start(i), text.end(i));
  if (line === "GIT binary patch\n") return true;
  return (line.startsWith("Binary files ") || line.startsWith("Files ")) && line.endsWith(" differ\n");
}

/** The name on the `diff --git` line `i`, when both of its sides agree. */
export function gitLineNameAt(text: PatchText, i: number): Buffer | null {
  return gitLineName(text.buf, text.start(i) + "diff --git ".length, text.contentEnd(i));
}

/**
 * A `diff --git` line that no extended header line follows is no patch, but git apply
 * carries what it read there into the next file patch it finds: that patch's names start as
 * the line's name (a patch whose names then disagree, or that creates a file, fails), and
 * when the line had no usable name, the next patch fails for want of one.
 */
export interface CarriedHeader {
  name: Buffer | null;
  /** 1-based line of the `diff --git` line. */
  line: number;
}

/**
 * Reads the file patch whose `diff --git` line is line `i`. Returns null when no extended
 * header line follows it (then it is no patch at all, as for git apply).
 */
export function readGitFilePatch(text: PatchText, i: number, carried: CarriedHeader | null): { diff: FileDiff; next: number } | null {
  const s: HeaderState = {
    lineName: gitLineNameAt(text, i),
    oldName: carried?.name ?? undefined,
    newName: carried?.name ?? undefined,
    creates: false,
    deletes: false,
    rename: false,
    copy: false,
    oldMode: null,
    newMode: null,
    similarity: null,
    kindLine: 0,
    kind: "",
  };
  let j = i + 1;
  while (j < text.lineCount && readHeaderLine(text, j, s)) j++;
  if (j === i + 1) return null;
  if (carried && carried.name === null) throw new PatchSyntaxError(`git diff header lacks filename information when removing 1 leading pathname component (line ${carried.line})`);
  const hunks: Hunk[] = [];
  while (isHunkStart(text, j)) {
    const { hunk, next } = readHunk(text, j);
    hunks.push(hunk);
    j = next;
  }
  let binary = false;
  if (hunks.length === 0 && isBinaryMarker(text, j)) {
    binary = true;
    j++;
  }
  const { oldName, newName } = resolveNames(s, j + 1);
  const added = hunks.reduce((n, h) => n + h.added, 0);
  const removed = hunks.reduce((n, h) => n + h.removed, 0);
  const shown = (newName ?? oldName ?? Buffer.alloc(0)).toString("utf8");
  if (s.creates && hunks.some((h) => h.old.ends.length > 0)) throw new PatchSyntaxError(`new file ${shown} depends on old contents`);
  if (s.deletes && hunks.some((h) => h.new.ends.length > 0)) throw new PatchSyntaxError(`deleted file ${shown} still has contents`);
  const modeChange = s.oldMode !== null && s.newMode !== null && s.oldMode !== s.newMode;
  if (hunks.length === 0 && !binary && !s.creates && !s.deletes && !s.rename && !s.copy && !modeChange) {
    throw new PatchSyntaxError(`patch with only garbage at line ${j + 1}`);
  }
  const diff: FileDiff = {
    oldName,
    newName,
    creates: s.creates,
    deletes: s.deletes,
    rename: s.rename,
    copy: s.copy,
    oldMode: s.oldMode,
    newMode: s.newMode,
    similarity: s.similarity,
    binary,
    hunks,
    added,
    removed,
    line: i + 1,
  };
  return { diff, next: j };
}

/** The old and new names once the header is read: what its lines said, else the diff --git line's name. */
function resolveNames(s: HeaderState, line: number): { oldName: Buffer | null; newName: Buffer | null } {
  const lacking = (why: string) => new PatchSyntaxError(`git diff header lacks filename information${why} (line ${line})`);
  if ((s.creates && s.oldName !== undefined) || (s.deletes && s.newName !== undefined)) {
    throw new PatchSyntaxError(`bad git diff: a file both created or deleted and named on both sides (line ${line})`);
  }
  let oldName = s.creates ? null : s.oldName;
  let newName = s.deletes ? null : s.newName;
  if (oldName === undefined && newName === undefined && s.lineName) oldName = newName = s.lineName;
  if (oldName === undefined || newName === undefined) throw lacking(s.lineName ? "" : " when removing 1 leading pathname component");
  return { oldName, newName };
}
