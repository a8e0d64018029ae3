/**
 * The command line of a namespace sandbox. bubblewrap 0.8 (Debian 12) cannot mount
 * overlays itself, so the sandbox starts in a user+mount namespace made by `unshare`,
 * mounts the environment's overlay there (private to that namespace, gone with it), and
 * execs bubblewrap, which adds user, pid, ipc, uts, cgroup and net namespaces, drops every capability, and starts the agent from the read-only runtime.
 */

export interface NamespaceLayout {
  /** The environment's root filesystem: the overlay's read-only lower layer. */
  lower: string;
  /** Per-sandbox writable layer and overlayfs work directory. */
  upper: string;
  work: string;
  /** Where the overlay is mounted (inside the unshare namespace only). */
  merged: string;
  /** Agent runtime, mounted read-only at /opt/pyro. */
  runtime: string;
  /** Host directory mounted at /run/pyro (the agent's socket). */
  run: string;
  /** Host directory mounted at /workspace. */
  workspace: string;
  /** A resolv.conf for the user-mode network, when there is network. */
  resolvConf?: string;
}

export const RUNTIME_MOUNT = "/opt/pyro";
export const AGENT_SOCKET_IN_SANDBOX = "/run/pyro/agent.sock";
export const WORKSPACE_IN_SANDBOX = "/workspace";
const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Overlay mount options can't carry these characters safely. */
function checkPath(p: string): string {
  if (/[,:\\\s]/.test(p)) throw new Error(`path ${JSON.stringify(p)} cannot be used in an overlay mount`);
  return p;
}

/** argv (program first) that starts the sandbox and runs `agentCommand` inside it. */
export function namespaceSandboxArgv(l: NamespaceLayout, opts: { network: boolean; hostname: string; infoFd?: number; syncFd?: number }, agentCommand: string[]): string[] {
  const overlay = `lowerdir=${checkPath(l.lower)},upperdir=${checkPath(l.upper)},workdir=${checkPath(l.work)}`;
  const bwrap = [
    "bwrap",
    "--unshare-user", "--uid", "0", "--gid", "0",
    // Always a network namespace of its own: --network attaches a user-mode stack to it, never the host's.
    "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net",
    "--die-with-parent", "--new-session",
    "--hostname", opts.hostname,
    "--bind", l.merged, "/",
    "--proc", "/proc",
    "--dev", "/dev",
    "--ro-bind", l.runtime, RUNTIME_MOUNT,
    "--tmpfs", "/run",
    "--bind", l.run, "/run/pyro",
    "--bind", l.workspace, WORKSPACE_IN_SANDBOX,
    ...(l.resolvConf ? ["--ro-bind", l.resolvConf, "/etc/resolv.conf"] : []),
    "--chdir", WORKSPACE_IN_SANDBOX,
    "--clearenv", "--setenv", "PATH", SANDBOX_PATH, "--setenv", "HOME", "/root",
    "--cap-drop", "ALL",
    ...(opts.infoFd !== undefined ? ["--info-fd", String(opts.infoFd)] : []),
    // Held open by bubblewrap only (not the sandbox's programs) while the sandbox lives: helpers exit when it closes.
    ...(opts.syncFd !== undefined ? ["--sync-fd", String(opts.syncFd)] : []),
    "--",
    ...agentCommand,
  ];
  return [
    "unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "--",
    "/bin/sh", "-c", 'mount -t overlay overlay -o "$1" "$2" && shift 2 && exec "$@"', "pyro-sandbox",
    overlay, l.merged,
    ...bwrap,
  ];
}
