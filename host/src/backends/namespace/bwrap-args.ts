/**
 * bubblewrap's own arguments for a namespace sandbox. They reach bwrap through `--args FD`,
 * never its command line: the sandbox's pid 1 is a copy of bwrap, and /proc/1/cmdline is
 * readable inside, so host paths on the command line would be shown to the sandbox.
 * Every source path here lives on a filesystem made for the sandbox (its overlay, its
 * small tmpfs), so /proc/self/mountinfo inside shows no host path either.
 */

export const RUNTIME_MOUNT = "/opt/pyro";
export const WORKSPACE_IN_SANDBOX = "/workspace";
const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * What a sandbox should not read of the host through its own /proc: the kernel's boot
 * command line, and the files container runtimes mask (kernel memory, keys, timers,
 * hardware). Only those this kernel has are masked (bwrap cannot mount over a missing path).
 */
export const MASKED_PROC_FILES = ["/proc/cmdline", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/sched_debug"];
export const MASKED_PROC_DIRS = ["/proc/acpi", "/proc/asound", "/proc/scsi"];

export interface BwrapLayout {
  /** The sandbox's root: its overlay (environment below, writable layer above). */
  root: string;
  /** The agent runtime, a read-only mount, shown at /opt/pyro. */
  runtime: string;
  /** An empty file and an empty directory, bound over what MASKED_PROC_* name. */
  emptyFile: string;
  emptyDir: string;
  /** A resolv.conf for the user-mode network, when there is network. */
  resolvConf?: string;
}

export interface BwrapOptions {
  hostname: string;
  /** Masked /proc paths that exist on this host (see maskedProcPaths). */
  masks: { files: string[]; dirs: string[] };
  /** Where bwrap writes its JSON status (the sandbox's pid as the host sees it). */
  infoFd?: number;
  /** Where bwrap reads the seccomp program it installs on pid 1 and the agent (seccomp-filter.ts). */
  seccompFd?: number;
  /** An fd bwrap alone holds open (not the sandbox's programs) while the sandbox lives: helpers exit when it closes. */
  syncFd?: number;
  /**
   * End the sandbox when the process that launched it (the manager) dies: for one-shot and
   * pooled sandboxes, whose commands no one would report on or bound by their TTL. Durable
   * sandboxes outlive the manager and are re-adopted by the next one.
   */
  dieWithParent?: boolean;
}

/**
 * bwrap's options (for `--args`). The command to run inside follows `--` on bwrap's real
 * command line, since bwrap reads only options from `--args`; it names no host path.
 */
export function bwrapArgs(l: BwrapLayout, o: BwrapOptions): string[] {
  return [
    "--unshare-user", "--uid", "0", "--gid", "0",
    // Always a network namespace of its own: --network attaches a user-mode stack to it, never the host's.
    "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net",
    ...(o.dieWithParent === false ? [] : ["--die-with-parent"]),
    "--new-session",
    "--hostname", o.hostname,
    "--bind", l.root, "/",
    "--proc", "/proc",
    "--dev", "/dev",
    "--ro-bind", l.runtime, RUNTIME_MOUNT,
    "--tmpfs", "/run",
    ...o.masks.files.flatMap((p) => ["--ro-bind", l.emptyFile, p]),
    ...o.masks.dirs.flatMap((p) => ["--ro-bind", l.emptyDir, p]),
    ...(l.resolvConf ? ["--ro-bind", l.resolvConf, "/etc/resolv.conf"] : []),
    "--chdir", WORKSPACE_IN_SANDBOX,
    "--clearenv", "--setenv", "PATH", SANDBOX_PATH, "--setenv", "HOME", "/root",
    "--cap-drop", "ALL",
    ...(o.infoFd !== undefined ? ["--info-fd", String(o.infoFd)] : []),
    ...(o.seccompFd !== undefined ? ["--seccomp", String(o.seccompFd)] : []),
    ...(o.syncFd !== undefined ? ["--sync-fd", String(o.syncFd)] : []),
  ];
}

/** bwrap's `--args` input: NUL-terminated arguments. */
export function encodeArgs(args: string[]): Buffer {
  for (const a of args) if (a.includes("\0")) throw new Error("a bubblewrap argument contains a NUL byte");
  return Buffer.from(args.map((a) => a + "\0").join(""));
}
