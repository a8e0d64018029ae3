/**
 * Outbound network for a namespace sandbox without root on the host's network: slirp4netns
 * attaches a user-mode TCP/IP stack to the sandbox's network namespace (10.0.2.100/24, DNS
 * at 10.0.2.3), with the host's loopback closed to the sandbox.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { PyroError } from "../../../../sdk/src/errors.js";
import type { Logger } from "../../logger.js";

/** Reads bubblewrap's --info-fd JSON for the sandbox's pid (as seen from the host). */
function sandboxPid(info: Readable): Promise<number> {
  return new Promise((ok, fail) => {
    let text = "";
    info.on("data", (d: Buffer) => {
      text += d.toString();
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (m) ok(Number(m[1]));
    });
    info.once("end", () => fail(new PyroError("sandbox_start_failed", "bubblewrap did not report the sandbox pid")));
  });
}

/**
 * Call once the sandbox's agent is ready: before that, bubblewrap may still be creating
 * the sandbox's namespaces, and joining them half-made fails.
 */
export async function startUserModeNetwork(sandbox: ChildProcess, infoFd: number, log: Logger): Promise<ChildProcess> {
  const info = sandbox.stdio[infoFd] as Readable;
  const pid = await sandboxPid(info);
  // Join the outer user namespace (the one `unshare` made, which bwrap runs in): it owns,
  // or is an ancestor of, every namespace of the sandbox, for root and non-root alike.
  const slirp = spawn(
    "slirp4netns",
    ["--configure", "--mtu=65520", "--disable-host-loopback", `--userns-path=/proc/${pid}/ns/user`, "--ready-fd=3", String(pid), "tap0"],
    { stdio: ["ignore", "ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((ok, fail) => {
    let err = "";
    slirp.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    slirp.once("error", (e: NodeJS.ErrnoException) =>
      fail(new PyroError("backend_unavailable", e.code === "ENOENT" ? "slirp4netns is not installed, so --network cannot be given" : e.message, { hint: "apt-get install -y slirp4netns" })),
    );
    slirp.once("exit", (code) => fail(new PyroError("sandbox_start_failed", `slirp4netns exited (${code}): ${err.trim().split("\n").join(" | ")}`)));
    (slirp.stdio[3] as Readable).once("data", () => ok());
  });
  slirp.removeAllListeners("exit");
  log.debug("user-mode network up", { pid });
  return slirp;
}
