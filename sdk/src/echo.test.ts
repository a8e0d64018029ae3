import { describe, expect, it } from "vitest";
import { cut, ECHO_MAX_CHARS, echoInput, safeName } from "./echo.js";

describe("echo", () => {
  it("keeps short input whole", () => {
    expect(cut("debian:99")).toBe("debian:99");
    expect(echoInput("debian:99")).toBe('"debian:99"');
    expect(echoInput('a"b\n')).toBe('"a\\"b\\n"');
  });

  it("cuts long input and says how much is missing", () => {
    const long = "x".repeat(10 << 20);
    expect(cut(long)).toBe(`${"x".repeat(ECHO_MAX_CHARS)}… (${(10 << 20) - ECHO_MAX_CHARS} more characters)`);
    expect(echoInput(long, 4)).toBe(`"xxxx"… (${(10 << 20) - 4} more characters)`);
    expect(cut("abcdef", 3)).toBe("abc… (3 more characters)");
  });
});

describe("safeName", () => {
  it("turns terminal escapes, controls and bidi overrides into ?", () => {
    expect(safeName("a\u001b[2Jb\nc\u202ed\u0000e.txt")).toBe("a?[2Jb?c?d?e.txt");
    expect(safeName("plain/ünïcode name.txt")).toBe("plain/ünïcode name.txt");
  });
});
