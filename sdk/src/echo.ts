/**
 * The one way user input is echoed into an error message or a log line: cut to a few
 * hundred characters, saying how much was left out. Input is hostile and unbounded (a
 * 10 MB environment name is a valid protobuf string); an error or a log line is not.
 */

/** At most this many characters of one input appear in an error or a log line. */
export const ECHO_MAX_CHARS = 256;

/** `text` cut to `max` characters, with a note of how many more there were. */
export function cut(text: string, max = ECHO_MAX_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** `input` quoted for a message (`"debian:99"`), cut to `max` characters. */
export function echoInput(input: string, max = ECHO_MAX_CHARS): string {
  return input.length <= max ? JSON.stringify(input) : `${JSON.stringify(input.slice(0, max))}… (${input.length - max} more characters)`;
}

// C0 and C1 controls, DEL, and Unicode format characters (bidi overrides, zero-width joiners).
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * A name that came from a sandbox (a file name, a link target) made fit for one line of a
 * terminal: control and format characters become "?", so a file name cannot move the cursor,
 * clear the screen or reorder what the user reads.
 */
export function safeName(name: string): string {
  return name.replace(UNSAFE, "?");
}
