/**
 * Outbound network for a namespace sandbox without root on the host's network: slirp4netns
 * attaches a user-mode TCP/IP stack to the sandbox's network namespace (10.0.2.100/24, DNS
 * at 10.0.2.3), behind an egress filter that keeps the host and non-internet ranges out of
 * reach. slirp4netns runs unprivileged (the sandbox's own uid when the manager is root) in
 * its own sandbox and seccomp filter, and exits when the sandbox does, whoever else dies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync } from "node:fs";
import type { Readable } from "node:stream";
import { PyroError } from "../../../../sdk/src/errors.js";
import { untrustedText } from "../../agent-link/untrusted-text.js";
import type { Logger } from "../../logger.js";
import { logTail, openLaunchLog } from "../sandbox-logs.js";
import { installEgressFilter } from "./egress-filter.js";
import { egressPolicy, hostAddresses, hostNetworks } from "./egress-policy.js";

const READY_TIMEOUT_MS = 10_000;

export interface UserModeNetworkOptions {
  /** The sandbox's pid 1 as the host sees it (bubblewrap's --info-fd report). */
  pid: number;
  /**
   * The fd the sandbox was spawned with as bubblewrap's --sync-fd (one end of a socket pair,
   * which bubblewrap keeps from the sandbox's programs). `sandbox.stdio[exitFd]` is the other
   * end: it becomes slirp4netns's --exit-fd, and the manager closes its own copy, so
   * slirp4netns sees the hang-up exactly when the sandbox is gone.
   */
  exitFd: number;
  /** Host uid/gid to run slirp4netns as (the sandbox's, when the manager is root); empty to keep the manager's. */
  user: { uid?: number; gid?: number };
  /** File for slirp4netns's messages: a file, not a pipe to the manager, so it never depends on the manager being alive (the last launch's goes to `<logPath>.1`). */
  logPath: string;
  log: Logger;
}

/** slirp4netns's arguments: it joins the user namespace of `pid` (a process in the sandbox) to reach the sandbox's network namespace. */
export function slirpArgs(pid: number, fds: { ready: number; exit: number }): string[] {
  return [
    "--configure", "--mtu=65520",
    // 10.0.2.2 would be the host's 127.0.0.1; the egress filter refuses it too.
    "--disable-host-loopback",
    // Its own mount namespace (only /etc and /run of the host), no capabilities on the host, a seccomp filter.
    "--enable-sandbox", "--enable-seccomp",
    `--userns-path=/proc/${pid}/ns/user`,
    `--ready-fd=${fds.ready}`, `--exit-fd=${fds.exit}`,
    String(pid), "tap0",
  ];
}

/**
 * Root drops to `user` before slirp4netns starts. /dev/net/tun is 0600 root on hosts without
 * udev's rule, so slirp4netns first gets a private mount namespace in which a tmpfs over
 * /dev/net holds a tun node that only `user` can open. Opening it creates nothing by
 * itself: making a tap device still takes CAP_NET_ADMIN over the sandbox's namespace.
 */
const DROP_TO_USER =
  'uid=$1 gid=$2; shift 2; mount -t tmpfs -o mode=0755,size=4k,nosuid,noexec pyro-tun /dev/net && mknod -m 0600 /dev/net/tun c 10 200 && chown "$uid:$gid" /dev/net/tun && exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- slirp4netns "$@"';

/** The command that starts slirp4netns for the sandbox `pid`: as `user` when the manager is root, else as the manager. */
export function slirpCommand(pid: number, fds: { ready: number; exit: number }, user: { uid?: number; gid?: number }, root: boolean): string[] {
  const args = slirpArgs(pid, fds);
  if (!root || user.uid === undefined || user.gid === undefined) return ["slirp4netns", ...args];
  return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", DROP_TO_USER, "pyro-slirp4netns", String(user.uid), String(user.gid), ...args];
}

/**
 * Call once the sandbox's agent is ready: before that, bubblewrap may still be creating
 * the sandbox's namespaces, and joining them half-made fails.
 */
export async function startUserModeNetwork(sandbox: ChildProcess, o: UserModeNetworkOptions): Promise<ChildProcess> {
  const exitEnd = sandbox.stdio[o.exitFd] as Readable;
  const root = process.getuid?.() === 0;
  try {
    const pid = o.pid;
    // Before the stack is attached: the namespace has no route out until the filter is in.
    const addresses = hostAddresses();
    await installEgressFilter(pid, egressPolicy(addresses, hostNetworks()), { root });
    o.log.debug("egress filter installed", { pid, hostAddresses: addresses.length });
    const logFd = openLaunchLog(o.logPath);
    let slirp: ChildProcess;
    try {
      const argv = slirpCommand(pid, { ready: 3, exit: 4 }, o.user, root);
      // Its own session: a signal to the manager's process group (a Ctrl-C) is not the sandbox's.
      slirp = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", logFd, "pipe", exitEnd], detached: true });
    } finally {
      closeSync(logFd);
    }
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => done(new PyroError("sandbox_start_failed", `slirp4netns was not ready after ${READY_TIMEOUT_MS} ms: ${untrustedText(logTail(o.logPath))}`)), READY_TIMEOUT_MS);
      const done = (err?: Error) => {
        clearTimeout(timer);
        if (err) fail(err);
        else ok();
      };
      slirp.once("error", (e: NodeJS.ErrnoException) =>
        done(new PyroError("backend_unavailable", e.code === "ENOENT" ? "slirp4netns is not installed, so --network cannot be given" : e.message, { hint: "apt-get install -y slirp4netns" })),
      );
      slirp.once("exit", (code, signal) =>
        done(
          code === 127
            ? new PyroError("backend_unavailable", "slirp4netns is not installed, so --network cannot be given", { hint: "apt-get install -y slirp4netns" })
            : new PyroError("sandbox_start_failed", `slirp4netns exited (${signal ?? code}): ${untrustedText(logTail(o.logPath))}`),
        ),
      );
      (slirp.stdio[3] as Readable).once("data", () => done());
    }).catch((err) => {
      slirp.kill("SIGKILL");
      throw err;
    });
    slirp.removeAllListeners("exit");
    o.log.debug("user-mode network up", { pid, slirp: slirp.pid });
    return slirp;
  } finally {
    // From here only bubblewrap holds the other end, so slirp4netns lives exactly as long as the sandbox.
    exitEnd.destroy();
  }
}
