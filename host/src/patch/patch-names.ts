/**
 * File names as patches write them. A name on a `---`/`+++` line or on a `diff --git` line
 * carries one leading directory (`a/`, `b/`, or whatever the tool used) that is dropped, as
 * `git apply` does by default (-p1). Names may be C-quoted; a `---`/`+++` name may be
 * followed by a tab, a CR or a `diff -u` timestamp, none of which belongs to it.
 */
import { readQuotedName } from "./c-quoted.js";
import { findFileDate } from "./file-dates.js";

const SLASH = 0x2f;
const DQUOTE = 0x22;

/** A name as read from a `---` or `+++` line, before its leading directory is dropped. */
export interface DashLineName {
  /** The name as written (unquoted); empty when the line names nothing. */
  raw: Buffer;
  /** It is exactly /dev/null: no file on this side. */
  devNull: boolean;
  /** A `diff -N` epoch timestamp follows it: no file on this side either. */
  epoch: boolean;
}

/** Reads the name of a `---`/`+++` line: `buf[start, end)` is the text after the four-byte prefix, without the newline. */
export function readDashLineName(buf: Buffer, start: number, end: number): DashLineName {
  const text = buf.toString("latin1", start, end);
  const date = findFileDate(text);
  const epoch = date?.epoch ?? false;
  if (buf[start] === DQUOTE) {
    const quoted = readQuotedName(buf, start, end);
    if (quoted) return { raw: quoted.name, devNull: false, epoch };
  }
  // Unquoted: the name ends at a tab or CR, or where a timestamp begins.
  let limit = date ? start + date.at : end;
  for (let i = start; i < limit; i++) {
    const b = buf[i];
    if (b === 0x09 || b === 0x0d) limit = i;
  }
  const raw = Buffer.from(buf.subarray(start, limit));
  return { raw, devNull: isDevNull(text), epoch };
}

/** /dev/null, followed by nothing, a blank or a CR. */
function isDevNull(text: string): boolean {
  if (!text.startsWith("/dev/null")) return false;
  const next = text[9];
  return next === undefined || next === " " || next === "\t" || next === "\r";
}

/** Drops a name's leading directory (through the first slash); null when it has no slash. */
export function dropLeadingDirectory(name: Buffer): Buffer | null {
  const slash = name.indexOf(SLASH);
  return slash < 0 ? null : name.subarray(slash + 1);
}

/** Collapses runs of slashes into one (`d//f` is `d/f`). */
export function squashSlashes(name: Buffer): Buffer {
  if (name.indexOf("//") < 0) return name;
  const out: number[] = [];
  for (const b of name) if (!(b === SLASH && out[out.length - 1] === SLASH)) out.push(b);
  return Buffer.from(out);
}

/** A `---`/`+++` name with its leading directory dropped and slashes squashed; null when it has no directory to drop. */
export function strippedName(name: Buffer): Buffer | null {
  const rest = dropLeadingDirectory(name);
  return rest === null ? null : squashSlashes(rest);
}

function isBlank(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09;
}

/** Drops the leading directory of a `diff --git` name, which must be a non-empty component. */
function dropGitPrefix(name: Uint8Array): Buffer | null {
  const slash = name.indexOf(SLASH);
  return slash <= 0 ? null : Buffer.from(name.subarray(slash + 1));
}

/**
 * The name on a `diff --git a/NAME b/NAME` line (`buf[start, end)` is the text after
 * "diff --git ", without the newline), found only where both sides name the same path once
 * their leading directories are dropped; null otherwise. A second name is quoted when the
 * first is; an unquoted first name may be followed by a quoted second one after blanks.
 */
export function gitLineName(buf: Buffer, start: number, end: number): Buffer | null {
  if (buf[start] === DQUOTE) {
    const first = readQuotedName(buf, start, end);
    if (!first) return null;
    let at = first.end;
    while (at < end && isBlank(buf[at])) at++;
    const second = readQuotedName(buf, at, end);
    if (!second) return null;
    return sameName(dropGitPrefix(first.name), dropGitPrefix(second.name));
  }
  const quote = buf.indexOf(DQUOTE, start);
  if (quote >= 0 && quote < end) {
    if (!isBlank(buf[quote - 1])) return null;
    const second = readQuotedName(buf, quote, end);
    if (!second) return null;
    let firstEnd = quote;
    while (firstEnd > start && isBlank(buf[firstEnd - 1])) firstEnd--;
    return sameName(dropGitPrefix(buf.subarray(start, firstEnd)), dropGitPrefix(second.name));
  }
  return splitUnquotedPair(buf, start, end);
}

function sameName(a: Buffer | null, b: Buffer | null): Buffer | null {
  return a !== null && b !== null && a.equals(b) ? a : null;
}

/**
 * Two unquoted names separated by a blank: the split is where the first name without its
 * leading directory equals the second without its own. The first directory ends at the
 * line's first slash (f1); for a split at blank s, the second name's directory ends at the
 * first slash after s (f2), and equal lengths need s - f1 = end - f2. As s grows, s + f2
 * only grows, so at most one split can qualify and one comparison decides: linear time.
 */
function splitUnquotedPair(buf: Buffer, start: number, end: number): Buffer | null {
  const f1 = buf.indexOf(SLASH, start);
  if (f1 <= start || f1 >= end) return null;
  let f2 = -1;
  for (let s = f1 + 1; s < end; s++) {
    if (!isBlank(buf[s])) continue;
    if (f2 <= s) {
      f2 = buf.indexOf(SLASH, s + 1);
      if (f2 < 0 || f2 >= end) return null;
    }
    if (f2 === s + 1) continue; // the second name's directory would be empty
    const diff = s - f1 - (end - f2);
    if (diff < 0) continue;
    if (diff > 0) return null;
    const first = buf.subarray(f1 + 1, s);
    return first.equals(buf.subarray(f2 + 1, end)) ? Buffer.from(first) : null;
  }
  return null;
}
