/**
 * Text that came from a sandbox, made fit for a log line or an error message: control and
 * format characters (terminal escapes, bidi overrides, NULs) become "?", and it is cut to a
 * few hundred characters, so a guest can neither paint a terminal nor put megabytes into a
 * log line.
 */
import { safeName } from "../../../sdk/src/echo.js";

/** How much guest text a log field or message keeps, unless told otherwise. */
export const UNTRUSTED_TEXT_MAX_CHARS = 200;

/** `value` as one safe line of at most `max` characters, saying how much was cut. */
export function untrustedText(value: string, max = UNTRUSTED_TEXT_MAX_CHARS): string {
  // Cut before cleaning: the regex then never walks a multi-megabyte string.
  const head = value.length > max ? value.slice(0, max) : value;
  const clean = safeName(head);
  return value.length > max ? `${clean}… (${value.length - max} more characters)` : clean;
}

/** A short description of guest bytes for a log line: their size and a safe preview. */
export function untrustedBytes(data: Uint8Array, max = 32): string {
  const preview = Buffer.from(data.subarray(0, max)).toString("hex");
  return `${data.length} bytes (${preview}${data.length > max ? "…" : ""})`;
}
