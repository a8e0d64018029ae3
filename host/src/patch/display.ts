/**
 * Patch bytes shown to a person: names and lines from an untrusted patch may hold control
 * characters or invalid UTF-8, which are escaped so that a message stays on one line and
 * cannot steer a terminal.
 */

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function hex(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

/** Escapes control characters (and DEL) of already decoded text. */
function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === "\t") return "\\t";
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    return hex(c.charCodeAt(0));
  });
}

/**
 * `bytes` as readable text: valid UTF-8 is kept (control characters escaped), anything else
 * shows its invalid bytes as \xHH. Longer results are cut to `max` characters with an ellipsis.
 */
export function printable(bytes: Uint8Array, max = 200): string {
  let text: string;
  try {
    text = escapeControls(strictUtf8.decode(bytes));
  } catch {
    let out = "";
    for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : hex(b);
    text = out;
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A line of a file or hunk for a conflict report: its bytes without the final newline, as text (invalid UTF-8 replaced). */
export function lineText(bytes: Uint8Array): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("utf8");
}
