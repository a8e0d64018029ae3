/**
 * Output handed to a model is cut to a bound keeping its head and its tail: the start says
 * what ran, the end how it ended (the error, the summary line), the middle is what goes.
 */

/** `text` within `maxBytes` of UTF-8 (the marker included), its middle replaced by a line saying how much was left out. */
export function headTail(text: string, maxBytes: number): { text: string; cut: boolean } {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return { text, cut: false };
  const marker = (omitted: number) => `\n[… ${omitted} bytes left out …]\n`;
  // The marker's own length depends on the count; the longest count bounds it.
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker(bytes.length)));
  const headBytes = Math.ceil(room / 2);
  const tailBytes = room - headBytes;
  // Decoding a cut buffer in streaming mode drops a character split at the cut instead of showing U+FFFD.
  const head = new TextDecoder("utf-8").decode(bytes.subarray(0, headBytes), { stream: true });
  const tailStart = bytes.length - tailBytes;
  let start = tailStart;
  // Skip continuation bytes (10xxxxxx) of a character cut at the tail's start.
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  const tail = bytes.subarray(start).toString("utf8");
  return { text: head + marker(bytes.length - Buffer.byteLength(head) - Buffer.byteLength(tail)) + tail, cut: true };
}
