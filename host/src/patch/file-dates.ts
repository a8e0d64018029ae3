/**
 * The modification time GNU `diff -u` writes after a name on its `---` and `+++` lines
 * (`--- a/f\t2024-03-01 10:00:00.123456789 +0100`), which is not part of the name, and the
 * Unix epoch with which `diff -N` marks a file that does not exist on that side.
 *
 * Accepted (as git apply accepts it, and only at the very end of the line): whitespace, a
 * date `YYYY-MM-DD`, one space, a time `HH:MM:SS` with an optional fraction, and an
 * optional zone of one space and `+HHMM`, `-HHMM` or `±HH:MM`.
 */

const ZONE = / ([+-])(\d{2}):?(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** A timestamp found at the end of a name line. */
export interface FileDate {
  /** Index (in the text given) where the whitespace before the date begins: the name ends there. */
  at: number;
  /** The stamp is the epoch written after a tab: the file is absent on that side. */
  epoch: boolean;
}

interface Stamp {
  date: string;
  hh: string;
  mm: string;
  ss: string;
  fraction: string;
  zone: { sign: string; hh: string; mm: string } | null;
}

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t";
}

/**
 * Looks for a timestamp at the end of `text` (one line, without its newline, read as
 * latin1 so that indexes are byte offsets). Parsed from the end by hand, in time linear in
 * the line, whatever the line holds.
 */
export function findFileDate(text: string): FileDate | null {
  let end = text.length;
  const zm = ZONE.exec(text.slice(-7));
  const zone = zm ? { sign: zm[1]!, hh: zm[2]!, mm: zm[3]! } : null;
  if (zm) end -= zm[0].length;
  let digits = end;
  while (digits > 0 && text.charCodeAt(digits - 1) >= 0x30 && text.charCodeAt(digits - 1) <= 0x39) digits--;
  let fraction = "";
  if (digits < end && text[digits - 1] === ".") {
    fraction = text.slice(digits, end);
    end = digits - 1;
  }
  const core = DATE_TIME.exec(text.slice(Math.max(0, end - 19), end));
  if (!core || end < 19) return null;
  const dateStart = end - 19;
  if (!isSpace(text[dateStart - 1])) return null;
  let at = dateStart - 1;
  while (at > 0 && isSpace(text[at - 1])) at--;
  const stamp: Stamp = { date: `${core[1]}-${core[2]}-${core[3]}`, hh: core[4]!, mm: core[5]!, ss: core[6]!, fraction, zone };
  return { at, epoch: text[dateStart - 1] === "\t" && isEpoch(stamp) };
}

/**
 * The epoch in the stamp's own zone: 1970-01-01 at the zone's offset east of UTC, or
 * 1969-12-31 at 24:00 less the offset west of it; whole seconds only (a fraction of zeros),
 * and a zone is required.
 */
function isEpoch({ date, hh, mm, ss, fraction, zone }: Stamp): boolean {
  if (!zone || ss !== "00" || /[^0]/.test(fraction)) return false;
  const minutes = Number(mm);
  const zoneMinutes = Number(zone.mm);
  if (minutes > 59 || zoneMinutes > 59) return false;
  const clock = Number(hh) * 60 + minutes;
  const offset = (zone.sign === "-" ? -1 : 1) * (Number(zone.hh) * 60 + zoneMinutes);
  if (date === "1970-01-01") return clock === offset;
  if (date === "1969-12-31") return clock === 24 * 60 + offset;
  return false;
}
