/**
 * Names in C-style double quotes, as git writes a name holding a quote, a backslash, a
 * control character or (by default) any byte above 0x7f: `"dir/tab\there \303\274"`.
 */

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The one-letter escapes and the byte each stands for. */
const LETTER_ESCAPES: Record<number, number> = {
  0x61: 0x07, // \a
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
  [BACKSLASH]: BACKSLASH,
  [DQUOTE]: DQUOTE,
};

function isOctalDigit(b: number | undefined): b is number {
  return b !== undefined && b >= 0x30 && b <= 0x37;
}

/**
 * Reads a quoted name starting at `buf[at]` (which must be a double quote) and ending
 * before `limit`. Returns the name's bytes and the index just past the closing quote, or
 * null when it is not a well-formed quoted name: no closing quote, an unknown escape, or
 * an octal escape that is not three digits of at most \377.
 */
export function readQuotedName(buf: Uint8Array, at: number, limit: number): { name: Buffer; end: number } | null {
  if (buf[at] !== DQUOTE) return null;
  const out: number[] = [];
  for (let i = at + 1; i < limit; i++) {
    const b = buf[i]!;
    if (b === DQUOTE) return { name: Buffer.from(out), end: i + 1 };
    if (b === 0x0a) return null;
    if (b !== BACKSLASH) {
      out.push(b);
      continue;
    }
    const next = buf[++i];
    if (next === undefined || i >= limit) return null;
    const letter = LETTER_ESCAPES[next];
    if (letter !== undefined) {
      out.push(letter);
      continue;
    }
    // Octal: exactly three digits, the first 0-3, so that the value fits a byte.
    const d2 = buf[i + 1];
    const d3 = buf[i + 2];
    if (!isOctalDigit(next) || next > 0x33 || !isOctalDigit(d2) || !isOctalDigit(d3) || i + 2 >= limit) return null;
    out.push(((next - 0x30) << 6) | ((d2 - 0x30) << 3) | (d3 - 0x30));
    i += 2;
  }
  return null;
}
