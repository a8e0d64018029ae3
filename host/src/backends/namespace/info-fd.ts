/** bubblewrap's `--info-fd` report: the sandbox's pid 1 as the host sees it. */
import type { ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { PyroError } from "../../../../sdk/src/errors.js";

/** Resolves with the pid bubblewrap reports on fd `infoFd` of `launch` (bounded: a report is a few bytes). */
export function readSandboxPid(launch: ChildProcess, infoFd: number): Promise<number> {
  const info = launch.stdio[infoFd] as Readable;
  return new Promise((ok, fail) => {
    let text = "";
    const onData = (d: Buffer) => {
      text = (text + d.toString()).slice(0, 4096);
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (m) {
        info.off("data", onData);
        ok(Number(m[1]));
      }
    };
    info.on("data", onData);
    info.once("end", () => fail(new PyroError("sandbox_start_failed", "bubblewrap did not report the sandbox's pid")));
  });
}
