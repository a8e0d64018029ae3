/**
 * How a namespace sandbox starts: a setup stage in a private mount namespace mounts the
 * sandbox's filesystems, then execs bubblewrap, which adds the other namespaces, drops
 * every capability and starts the agent.
 *
 * When the manager is root, the setup stage runs as real root (so the environment's tree
 * can sit in a directory only root can reach, and the overlay copies files up with the
 * owner they had), and drops to the unprivileged sandbox user just before bubblewrap: the
 * sandbox is never real root. Otherwise the stage runs in a user namespace of its own
 * (`unshare --user --map-root-user`), as the manager's user.
 *
 * The manager lays the sandbox directory out beforehand (`layoutSandboxDir`): mount points
 * and links with short names in `ns/`, from which the stage mounts with relative names, so
 * the mount options the kernel shows inside (/proc/self/mountinfo) carry no host path. The
 * stage itself only joins cgroups and mounts; it never creates, changes or follows anything
 * in a tree the sandbox can write. bubblewrap gets its arguments through a pipe (`--args`),
 * the agent its listening socket as an inherited fd, and nothing of the manager's
 * environment crosses: the stage starts from PATH alone and execs bubblewrap with none.
 */
import { chown, lstat, mkdir, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import { DISK_MOUNT_OPTIONS } from "./disk-image.js";

/** Fixed fds of the launched process (Node's spawn places them). */
export const LAUNCH_FDS = { args: 3, info: 4, listen: 5, seccomp: 6, sync: 7 } as const;
const LAST_LAUNCH_FD = 7;

/** Names inside the sandbox directory. */
export const SANDBOX_NAMES = {
  /** Mount points and the links the stage mounts from (the manager's; traversable only). */
  ns: "ns",
  /** The writable layer and overlayfs' work directory (on the disk image when there is one). */
  upper: "upper",
  work: "work",
  /** The agent's listening socket, bound by the manager. */
  agentSocket: "agent.sock",
  /** The bounded filesystem's image and its mount point (which then holds upper/ and work/). */
  diskImage: "disk.img",
  disk: "disk",
} as const;

/** Files of the agent runtime that bubblewrap binds over /proc paths and /etc/resolv.conf. */
export const RUNTIME_FILES = { emptyFile: "empty", emptyDir: "empty.d", resolvConf: "resolv.conf" } as const;

export interface LaunchPlan {
  /** The sandbox directory (made by the manager, writable by it alone). */
  dir: string;
  /** The environment's root filesystem: the overlay's read-only lower layer. */
  rootfs: string;
  /** The agent runtime's directory, mounted read-only at /opt/pyro. */
  runtime: string;
  /** Set when the manager is root: the unprivileged user the sandbox runs as. */
  user?: { uid: number; gid: number };
  /** Whether the sandbox gets the user-mode network's resolv.conf. */
  network: boolean;
  /** cgroup.procs files to join before anything starts (root only). */
  cgroupProcs?: string[];
  /** Mount SANDBOX_NAMES.diskImage and keep the writable layer on it (root only). */
  disk?: boolean;
}

/**
 * Paths bubblewrap binds from. Each lies on a filesystem made for the sandbox (its root
 * overlay, the runtime's read-only overlay), so the mount's root the kernel shows inside is
 * never a host path.
 */
export function launchLayout(dir: string, network: boolean) {
  const opt = join(dir, SANDBOX_NAMES.ns, "opt");
  return {
    root: join(dir, SANDBOX_NAMES.ns, "root"),
    runtime: opt,
    emptyFile: join(opt, RUNTIME_FILES.emptyFile),
    emptyDir: join(opt, RUNTIME_FILES.emptyDir),
    resolvConf: network ? join(opt, RUNTIME_FILES.resolvConf) : undefined,
  };
}

/**
 * Lays out what the setup stage mounts from: `ns/` with the mount points `root` and `opt`,
 * an empty `void` (the runtime overlay's second lower layer), and links `lower`, `rt`,
 * `upper` and `work`. Without a disk image, a new sandbox's writable layer is made here too
 * (given to the sandbox user when the manager is root); an existing one is left as it is.
 * Laying out again (a stopped sandbox starting) remakes the links and keeps the rest.
 */
export async function layoutSandboxDir(p: LaunchPlan): Promise<void> {
  const ns = join(p.dir, SANDBOX_NAMES.ns);
  await mkdirOnce(ns, 0o711);
  for (const d of ["root", "opt", "void"]) await mkdirOnce(join(ns, d), 0o755);
  const layer = p.disk ? `../${SANDBOX_NAMES.disk}/` : "../";
  await relink(p.rootfs, join(ns, "lower"));
  await relink(p.runtime, join(ns, "rt"));
  await relink(`${layer}${SANDBOX_NAMES.upper}`, join(ns, "upper"));
  await relink(`${layer}${SANDBOX_NAMES.work}`, join(ns, "work"));
  if (p.disk) {
    await mkdirOnce(join(p.dir, SANDBOX_NAMES.disk), 0o700);
    return; // the image holds upper/ and work/ (disk-image.ts)
  }
  const upper = join(p.dir, SANDBOX_NAMES.upper);
  if (await lstat(upper).then(() => true, () => false)) return;
  for (const d of [upper, join(upper, "workspace"), join(p.dir, SANDBOX_NAMES.work)]) {
    await mkdir(d, { mode: 0o755 });
    if (p.user) await chown(d, p.user.uid, p.user.gid);
  }
}

/** Makes directory `path`, or keeps the one there (the manager's: nothing else writes in `ns/`). */
async function mkdirOnce(path: string, mode: number): Promise<void> {
  await mkdir(path, { mode }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
}

/** Points the link at `path` to `target`, replacing the one an earlier launch made. */
async function relink(target: string, path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  await symlink(target, path);
}

/** Quotes `s` for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The setup stage's script: cgroups, then mounts, then bubblewrap. Nothing else. */
export function setupScript(p: LaunchPlan): string {
  const q = shellQuote;
  const user = p.user;
  const lines = [
    "set -eu",
    // Only fds 0-2 and LAUNCH_FDS go on: whatever else the manager inherited from whoever
    // started it (a pipe of a shell, an editor's socket) must not reach the sandbox.
    `for f in /proc/self/fd/*; do n=\${f##*/}; if [ "$n" -gt ${LAST_LAUNCH_FD} ]; then eval "exec $n>&-" 2>/dev/null || true; fi; done`,
    // First, so that everything the sandbox ever runs is under its limits.
    ...(p.cgroupProcs ?? []).map((f) => `echo $$ > ${q(f)}`),
    `cd ${q(join(p.dir, SANDBOX_NAMES.ns))}`,
    ...(p.disk ? [`mount -o ${DISK_MOUNT_OPTIONS} ../${SANDBOX_NAMES.diskImage} ../${SANDBOX_NAMES.disk}`] : []),
    "mount -t overlay -o lowerdir=lower,upperdir=upper,workdir=work pyro-root root",
    // Read-only: an overlay of two lower layers has no writable one.
    "mount -t overlay -o ro,lowerdir=rt:void pyro-runtime opt",
    "cd /",
    // exec -c: bubblewrap (the sandbox's pid 1 is a copy of it) starts with no environment at all.
    user
      ? `exec -c setpriv --reuid=${user.uid} --regid=${user.gid} --clear-groups --inh-caps=-all -- bwrap --args ${LAUNCH_FDS.args} -- "$@"`
      : `exec -c bwrap --args ${LAUNCH_FDS.args} -- "$@"`,
  ];
  return lines.join("\n");
}

/** The command (program first) that launches the sandbox running `command` inside. Its fds 3–7 are LAUNCH_FDS. */
export function launchArgv(p: LaunchPlan, command: string[]): string[] {
  const unshare = p.user
    ? ["unshare", "--mount", "--propagation", "private"]
    : ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"];
  // bash, not sh: closing fds above 9, and exec -c.
  return [...unshare, "--", "/bin/bash", "-c", setupScript(p), "pyro-sandbox-setup", ...command];
}

/** The only environment the setup stage gets. */
export const LAUNCH_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
