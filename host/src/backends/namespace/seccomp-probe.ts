/**
 * Proves that this host's bubblewrap and kernel accept the seccomp program and put it in
 * force: a minimal sandbox, with the filter, reads its own seccomp mode. `pyro doctor`
 * reports the answer.
 */
import { spawn } from "node:child_process";
import { sendSeccompFilter, type SeccompFilter } from "./seccomp-filter.js";

const OUTPUT_MAX = 64 << 10;

/** "" when the filter is in force in a test sandbox; otherwise what went wrong, in one line. */
export async function probeSeccomp(f: SeccompFilter, timeoutMs = 10_000): Promise<string> {
  // Only a user namespace and a read-only view of the host: the filter, not the sandbox, is under test.
  const argv = ["--unshare-user", "--ro-bind", "/", "/", "--seccomp", "3", "--", "/bin/cat", "/proc/self/status"];
  const child = spawn("bwrap", argv, { stdio: ["ignore", "pipe", "pipe", "pipe"], timeout: timeoutMs });
  // Absent only when bwrap could not be started: the 'error' below says so.
  if (child.stdio[3]) sendSeccompFilter(child.stdio[3], f);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(0, OUTPUT_MAX)));
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-OUTPUT_MAX)));
  const status = await new Promise<string>((resolve) => {
    child.once("error", (e) => resolve(e.message));
    child.once("close", (code, signal) => resolve(code === 0 ? "" : `bwrap ended with ${signal ?? `exit ${code}`}: ${err.trim().split("\n").at(-1) ?? ""}`));
  });
  if (status) return status;
  // 2 is SECCOMP_MODE_FILTER.
  const mode = /^Seccomp:\s*(\d+)$/m.exec(out)?.[1];
  return mode === "2" ? "" : `the test sandbox ran with seccomp mode ${mode ?? "unknown"}, not 2 (filter)`;
}
