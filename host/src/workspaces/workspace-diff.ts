/**
 * `workspace diff`: /workspace against its baseline, both read as archives on the host (the
 * baseline from the manager's own file, the current tree exported by the guest). Text files
 * that differ get a git-style unified diff; every difference, text or not, gets an entry.
 */
import { structuredPatch } from "diff";
import { type IndexedEntry, type IndexedType } from "./tree-index.js";

export const DIFF_TEXT_MAX_BYTES = 1 << 20;

export interface DiffEntry {
  path: string;
  change: "added" | "deleted" | "modified" | "type_changed" | "mode_changed";
  type: IndexedType;
  binary: boolean;
}

export interface WorkspaceDiff {
  changed: boolean;
  patch: string;
  entries: DiffEntry[];
  truncated: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The content as text, or undefined when it is not UTF-8 text (or was too large to keep). */
function text(e: IndexedEntry | undefined): string | undefined {
  if (!e) return "";
  if (e.type !== "file" || !e.content || e.content.includes(0)) return undefined;
  try {
    return decoder.decode(e.content);
  } catch {
    return undefined;
  }
}

/** A path as git writes it in headers: quoted, with C escapes, when it holds special characters. */
function quote(prefix: string, path: string): string {
  const p = prefix + path;
  if (!/[\u0000-\u001f"\\\u007f]/.test(p)) return p;
  const esc = p.replace(/[\u0000-\u001f"\\\u007f]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\t": "\\t", '"': '\\"', "\\": "\\\\", "\r": "\\r" };
    return named[c] ?? `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`;
  });
  return `"${esc}"`;
}

const fileMode = (m: number) => (m & 0o111 ? "100755" : "100644");

function range(start: number, lines: number): string {
  const s = lines === 0 ? start - 1 : start;
  return lines === 1 ? `${s}` : `${s},${lines}`;
}

/** The unified diff of one text file, git style; empty when the contents are equal. */
function fileDiff(path: string, before: IndexedEntry | undefined, after: IndexedEntry | undefined, a: string, b: string): string {
  const head = [`diff --git ${quote("a/", path)} ${quote("b/", path)}`];
  if (!before && after) head.push(`new file mode ${fileMode(after.mode)}`);
  else if (before && !after) head.push(`deleted file mode ${fileMode(before.mode)}`);
  else if (before && after && fileMode(before.mode) !== fileMode(after.mode)) head.push(`old mode ${fileMode(before.mode)}`, `new mode ${fileMode(after.mode)}`);
  const hunks = a === b ? [] : structuredPatch(path, path, a, b, "", "", { context: 3 }).hunks;
  if (hunks.length > 0) {
    head.push(`--- ${before ? quote("a/", path) : "/dev/null"}`, `+++ ${after ? quote("b/", path) : "/dev/null"}`);
    for (const h of hunks) head.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`, ...h.lines);
  }
  return head.length > 1 ? head.join("\n") + "\n" : "";
}

/** Compares two indexes of /workspace. */
export function diffTrees(baseline: Map<string, IndexedEntry>, current: Map<string, IndexedEntry>): WorkspaceDiff {
  const paths = [...new Set([...baseline.keys(), ...current.keys()])].sort();
  const entries: DiffEntry[] = [];
  let patch = "";
  let truncated = false;
  for (const path of paths) {
    const before = baseline.get(path);
    const after = current.get(path);
    let change: DiffEntry["change"] | undefined;
    if (!before) change = "added";
    else if (!after) change = "deleted";
    else if (before.type !== after.type) change = "type_changed";
    else if (before.type !== "directory" && before.digest !== after.digest) change = "modified";
    else if (before.mode !== after.mode && before.type !== "symlink") change = "mode_changed";
    if (!change) continue;
    const type = (after ?? before)!.type;
    const bothFiles = (!before || before.type === "file") && (!after || after.type === "file");
    const a = bothFiles ? text(before) : undefined;
    const b = bothFiles ? text(after) : undefined;
    const binary = type === "file" && (a === undefined || b === undefined);
    entries.push({ path, change, type, binary });
    if (type === "file" && bothFiles && !binary && !truncated) {
      const piece = fileDiff(path, before, after, a!, b!);
      if (patch.length + piece.length > DIFF_TEXT_MAX_BYTES) truncated = true;
      else patch += piece;
    }
  }
  return { changed: entries.length > 0, patch, entries, truncated };
}
