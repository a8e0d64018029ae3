/** Runs a small program for its output (a version line, say). */
import { spawn } from "node:child_process";

/**
 * The trimmed stdout of `program args`, or "" when it cannot run or fails. Waits for
 * 'close', not 'exit': a process's exit can be seen before the last of its output is read
 * (on a busy manager, most of the time), and its output would be lost.
 */
export function runText(program: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", () => resolve(""));
    child.once("close", (code) => resolve(code === 0 ? out.trim() : ""));
  });
}
