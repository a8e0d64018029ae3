/**
 * How a namespace sandbox starts: a setup stage in a private mount namespace prepares the
 * sandbox's filesystems, then execs bubblewrap, which adds the other namespaces, drops
 * every capability and starts the agent.
 *
 * When the manager is root, the setup stage runs as real root (so the environment's tree
 * can sit in a directory only root can reach, and the overlay copies files up with the
 * owner they had), and drops to the unprivileged sandbox user just before bubblewrap: the
 * sandbox is never real root. Otherwise the stage runs in a user namespace of its own
 * (`unshare --user --map-root-user`), as the manager's user.
 *
 * The stage works inside the sandbox directory with short relative names, so the mount
 * options the kernel shows inside (/proc/self/mountinfo) carry no host path; the names
 * are links on a small tmpfs made for the sandbox. bubblewrap gets its arguments through
 * a pipe (`--args`), the agent its listening socket as an inherited fd, and nothing of the
 * manager's environment crosses: the stage starts from PATH alone and clears even that
 * before bubblewrap.
 */
import { join } from "node:path";
import { DISK_MOUNT_OPTIONS } from "./disk-image.js";

/** Fixed fds of the launched process (Node's spawn places them). */
export const LAUNCH_FDS = { args: 3, info: 4, listen: 5, seccomp: 6, sync: 7 } as const;
const LAST_LAUNCH_FD = 7;

/** Names inside the sandbox directory. */
export const SANDBOX_NAMES = {
  /** The sandbox's tmpfs (mount point); holds the mounts and links below. */
  ns: "ns",
  /** The writable layer and overlayfs' work directory. */
  upper: "upper",
  work: "work",
  /** The agent's listening socket, bound by the manager. */
  agentSocket: "agent.sock",
  /** The bounded filesystem's image and its mount point (which then holds upper/ and work/). */
  diskImage: "disk.img",
  disk: "disk",
} as const;

export interface LaunchPlan {
  /** The sandbox directory (made by the manager, writable by it alone). */
  dir: string;
  /** The environment's root filesystem: the overlay's read-only lower layer. */
  rootfs: string;
  /** The agent runtime's directory, mounted read-only at /opt/pyro. */
  runtime: string;
  /** Set when the manager is root: the unprivileged user the sandbox runs as. */
  user?: { uid: number; gid: number };
  /** Whether to write a resolv.conf for the user-mode network. */
  network: boolean;
  /** cgroup.procs files to join before anything starts (root only). */
  cgroupProcs?: string[];
  /** Mount SANDBOX_NAMES.diskImage and keep the writable layer on it (root only). */
  disk?: boolean;
}

/** Paths bubblewrap binds from, all on the sandbox's own filesystems. */
export function launchLayout(dir: string, network: boolean) {
  const ns = join(dir, SANDBOX_NAMES.ns);
  return {
    root: join(ns, "root"),
    runtime: join(ns, "opt"),
    emptyFile: join(ns, "empty"),
    emptyDir: join(ns, "emptydir"),
    resolvConf: network ? join(ns, "resolv.conf") : undefined,
  };
}

/** Quotes `s` for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The setup stage's script. Everything it touches is named here; it makes nothing it does not own. */
export function setupScript(p: LaunchPlan): string {
  const q = shellQuote;
  const { ns } = SANDBOX_NAMES;
  const layer = p.disk ? `${SANDBOX_NAMES.disk}/` : "";
  const upper = `${layer}${SANDBOX_NAMES.upper}`;
  const work = `${layer}${SANDBOX_NAMES.work}`;
  const user = p.user;
  const lines = [
    "set -eu",
    // Only fds 0-2 and LAUNCH_FDS go on: whatever else the manager inherited from whoever
    // started it (a pipe of a shell, an editor's socket) must not reach the sandbox.
    `for f in /proc/self/fd/*; do n=\${f##*/}; if [ "$n" -gt ${LAST_LAUNCH_FD} ]; then eval "exec $n>&-" 2>/dev/null || true; fi; done`,
    // First, so that everything the sandbox ever runs is under its limits.
    ...(p.cgroupProcs ?? []).map((f) => `echo $$ > ${q(f)}`),
    `cd ${q(p.dir)}`,
    ...(p.disk ? [`mount -o ${DISK_MOUNT_OPTIONS} ${SANDBOX_NAMES.diskImage} ${SANDBOX_NAMES.disk}`] : []),
    `mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev pyro-sandbox ${ns}`,
    // A new sandbox's writable layer is made here; one that exists is used as it is, and
    // nothing in it is ever followed or changed by this (root) stage.
    `if [ ! -e ${upper} ]; then mkdir -m 0755 ${upper} ${upper}/workspace ${work}${user ? ` && chown ${user.uid}:${user.gid} ${upper} ${upper}/workspace ${work}` : ""}; fi`,
    `cd ${ns}`,
    "mkdir root opt void emptydir",
    ": > empty",
    `ln -s ${q(p.rootfs)} lower`,
    `ln -s ${q(p.runtime)} rt`,
    `ln -s ../${upper} upper`,
    `ln -s ../${work} work`,
    "mount -t overlay -o lowerdir=lower,upperdir=upper,workdir=work pyro-root root",
    // Read-only: an overlay of two lower layers has no writable one.
    "mount -t overlay -o ro,lowerdir=rt:void pyro-runtime opt",
    ...(p.network ? ["printf 'nameserver 10.0.2.3\\n' > resolv.conf"] : []),
    "cd /",
    user
      ? `exec env -i setpriv --reuid=${user.uid} --regid=${user.gid} --clear-groups --inh-caps=-all -- bwrap --args ${LAUNCH_FDS.args} -- "$@"`
      : `exec env -i bwrap --args ${LAUNCH_FDS.args} -- "$@"`,
  ];
  return lines.join("\n");
}

/** The command (program first) that launches the sandbox running `command` inside. Its fds 3–7 are LAUNCH_FDS. */
export function launchArgv(p: LaunchPlan, command: string[]): string[] {
  const unshare = p.user
    ? ["unshare", "--mount", "--propagation", "private"]
    : ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"];
  // bash, not sh: closing fds above 9 needs it.
  return [...unshare, "--", "/bin/bash", "-c", setupScript(p), "pyro-sandbox-setup", ...command];
}

/** The only environment the setup stage gets. */
export const LAUNCH_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
