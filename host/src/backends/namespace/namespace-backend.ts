/** The `namespace` backend: bubblewrap sandboxes over an overlay of the environment's rootfs. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { PyroError } from "../../../../sdk/src/errors.js";
import type { Logger } from "../../logger.js";
import type { AgentRuntime } from "../../runtime/agent-runtime.js";
import { bindAgentListener, type AgentListener } from "../agent-listener.js";
import { connectAgentSandbox, waitForReady } from "../agent-process.js";
import { removeTree } from "../../environments/remove-tree.js";
import type { Backend, Probe, Sandbox, SandboxSpec } from "../backend.js";
import type { LimitBreach, LimitsInForce, LimitState, Resources } from "../resources.js";
import { createSandboxCgroup, detectCgroups, endSandboxCgroup, removeStaleCgroups, type CgroupSupport, type SandboxCgroup } from "./cgroups.js";
import { makeDiskImage, probeDisk } from "./disk-image.js";
import { readSandboxPid } from "./info-fd.js";
import { runText } from "./run-text.js";
import { seccompFilter, seccompLabel, sendSeccompFilter, type SeccompFilter } from "./seccomp-filter.js";
import { bwrapArgs, encodeArgs, MASKED_PROC_DIRS, MASKED_PROC_FILES, RUNTIME_MOUNT, WORKSPACE_IN_SANDBOX } from "./bwrap-args.js";
import { LAUNCH_ENV, LAUNCH_FDS, launchArgv, launchLayout, layoutSandboxDir, SANDBOX_NAMES, type LaunchPlan } from "./sandbox-launch.js";
import { startUserModeNetwork } from "./user-mode-network.js";

export interface NamespaceBackendOptions {
  runtime: () => Promise<AgentRuntime>;
  log: Logger;
  /** Host uid/gid the sandbox runs as when the manager is root; never root itself. */
  sandboxUser?: { uid: number; gid: number };
  readyTimeoutMs?: number;
}

let masks: { files: string[]; dirs: string[] } | undefined;

/** The masked /proc paths this kernel has (bwrap cannot mount over a missing one); found once, as the kernel's set does not change. */
function presentMasks() {
  masks ??= { files: MASKED_PROC_FILES.filter((p) => existsSync(p)), dirs: MASKED_PROC_DIRS.filter((p) => existsSync(p)) };
  return masks;
}

/**
 * Spawns the launch of `plan` running `command` inside under the seccomp filter, with
 * bwrap's arguments and the filter written to their pipes and, when given, the agent's
 * listening socket as fd LAUNCH_FDS.listen.
 */
function launch(plan: LaunchPlan, command: string[], seccomp: SeccompFilter, listener?: AgentListener, masks = presentMasks()): ChildProcess {
  const args = bwrapArgs(launchLayout(plan.dir, plan.network), {
    hostname: "pyro",
    masks,
    infoFd: LAUNCH_FDS.info,
    seccompFd: LAUNCH_FDS.seccomp,
    syncFd: plan.network ? LAUNCH_FDS.sync : undefined,
  });
  const argv = launchArgv(plan, command);
  const child = spawn(argv[0]!, argv.slice(1), {
    // With network, a socket pair: bwrap's end for --sync-fd, the manager's for the network helper's --exit-fd.
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", listener?.fd ?? "ignore", "pipe", plan.network ? "pipe" : "ignore"],
    env: LAUNCH_ENV,
  });
  const pipes = child.stdio as unknown as Array<Writable | null>;
  const argsPipe = pipes[LAUNCH_FDS.args]!;
  argsPipe.on("error", () => {}); // a launch that fails early stops reading; its exit tells why
  argsPipe.end(encodeArgs(args));
  sendSeccompFilter(pipes[LAUNCH_FDS.seccomp], seccomp);
  return child;
}

/** What this host lets the backend enforce, found once. */
export interface Enforcement {
  cgroups: CgroupSupport;
  disk: Awaited<ReturnType<typeof probeDisk>>;
}

/** The disk counts as full when less than this is left (ext4 keeps a little for itself). */
function diskFull(s: { bavail: number; bsize: number; blocks: number }): boolean {
  return s.bavail * s.bsize < Math.max(2 << 20, (s.blocks * s.bsize) / 100);
}

export class NamespaceBackend implements Backend {
  readonly name = "namespace" as const;
  readonly isolated = true;
  private enforcement?: Promise<Enforcement>;

  constructor(private readonly o: NamespaceBackendOptions) {}

  /** Which limits this host can enforce, and how (for doctor and for each sandbox). */
  enforceable(): Promise<Enforcement> {
    this.enforcement ??= (async () => {
      const root = this.user() !== undefined;
      const cgroups: CgroupSupport = root ? await detectCgroups().catch((err: Error) => ({ version: 0 as const, reason: err.message })) : { version: 0, reason: "cgroups need a manager running as root" };
      if (cgroups.version !== 0) {
        void removeStaleCgroups(cgroups).then(
          (n) => n > 0 && this.o.log.info("removed cgroups left by an earlier manager", { count: n }),
          (err: unknown) => this.o.log.warn("cannot remove stale cgroups", { error: err }),
        );
      }
      return { cgroups, disk: await probeDisk() };
    })();
    return this.enforcement;
  }

  /**
   * Ends what is left of sandboxes a killed manager made, given by id from this manager's
   * own state directory (so they are its to end): processes still in their cgroups, and the
   * cgroups. Call before their directories are removed.
   */
  async removeLeftovers(ids: string[]): Promise<void> {
    if (ids.length === 0) return; // the usual start: nothing to probe for
    const { cgroups } = await this.enforceable();
    if (cgroups.version === 0) return;
    for (const id of ids) {
      const ended = await endSandboxCgroup(cgroups, id).catch((err: unknown) => {
        this.o.log.warn("cannot end a sandbox left by a killed manager", { sandbox: id, error: err });
        return 0;
      });
      if (ended > 0) this.o.log.info("ended processes of a sandbox left by a killed manager", { sandbox: id, count: ended });
    }
  }

  async probe(): Promise<Probe> {
    const version = await runText("bwrap", ["--version"]);
    if (!version) return { available: false, detail: "bubblewrap (bwrap) is not installed", hint: "apt-get install -y bubblewrap" };
    let seccomp: SeccompFilter;
    try {
      seccomp = seccompFilter();
    } catch (err) {
      return { available: false, detail: (err as PyroError).message, hint: (err as PyroError).hint };
    }
    // The real launch, minus the agent: /usr as the root filesystem has /bin/true and
    // does not overlap the sandbox's directories under /tmp.
    const dir = join("/tmp", `pyro-probe-${process.pid}-${Date.now()}`);
    try {
      const plan: LaunchPlan = { dir, rootfs: "/usr", runtime: "/usr", user: this.user(), network: false };
      await this.layout(plan);
      // No masks: /usr, standing in for the runtime, has no empty files to mask with.
      const child = launch(plan, ["/bin/true"], seccomp, undefined, { files: [], dirs: [] });
      const stderr = collect(child);
      // 'close', not 'exit': the last of its stderr may still be unread at its exit.
      const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once("close", (c, s) => r([c, s])));
      if (code !== 0) throw new Error(stderr().trim().split("\n").slice(-1)[0] || `exit ${code ?? signal}`);
      return { available: true, detail: `${version}; user, mount, pid, ipc, uts, net namespaces and overlayfs work`, hint: "" };
    } catch (err) {
      return {
        available: false,
        detail: `${version} is installed but a sandbox could not start: ${(err as Error).message}`,
        hint: "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0) and use a kernel with overlayfs in user namespaces (5.11+)",
      };
    } finally {
      await removeTree(dir, this.o.log);
    }
  }

  async create(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    const log = this.o.log;
    const steps: string[] = [];
    const step = (name: string) => {
      steps.push(name);
      log.debug("sandbox step", { sandbox: spec.id, step: name });
    };
    let child: ChildProcess | undefined;
    let listener: AgentListener | undefined;
    let cgroup: SandboxCgroup | undefined;
    const helpers: ChildProcess[] = [];
    try {
      step("runtime");
      const runtime = await this.o.runtime();
      const enforcement = await this.enforceable();
      const user = this.user();
      step("limits");
      if (enforcement.cgroups.version !== 0) cgroup = await createSandboxCgroup(enforcement.cgroups, spec.id, spec.resources);
      const plan: LaunchPlan = {
        dir: spec.dir,
        rootfs: spec.environment.rootfs,
        runtime: runtime.dir,
        user,
        network: spec.network,
        cgroupProcs: cgroup?.procsFiles,
        disk: enforcement.disk.available,
      };
      step("layout");
      await this.layout(plan);
      if (plan.disk) await makeDiskImage(join(spec.dir, SANDBOX_NAMES.diskImage), spec.resources.diskMib, user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
      const socketPath = join(spec.dir, SANDBOX_NAMES.agentSocket);
      listener = await bindAgentListener(socketPath);
      const limits = limitsInForce(spec.resources, enforcement, cgroup);
      const seccomp = seccompFilter();
      step("spawn");
      child = launch(plan, runtime.command(RUNTIME_MOUNT, ["--listen-fd", String(LAUNCH_FDS.listen), "--workspace", WORKSPACE_IN_SANDBOX]), seccomp, listener);
      listener.release();
      const pid = readSandboxPid(child, LAUNCH_FDS.info);
      pid.catch(() => {}); // a launch that fails says why through its exit
      step("agent-ready");
      await waitForReady(child, this.o.readyTimeoutMs ?? 15_000, signal);
      const sandboxPid = await pid;
      if (spec.network) {
        step("network");
        helpers.push(await startUserModeNetwork(child, { pid: sandboxPid, exitFd: LAUNCH_FDS.sync, user: user ?? {}, logPath: join(spec.dir, "slirp4netns.log"), log }));
      }
      const c = child;
      log.info("sandbox started", { sandbox: spec.id, backend: this.name, environment: spec.environment.name, network: spec.network, steps });
      return await connectAgentSandbox({
        id: spec.id,
        backend: this.name,
        environment: spec.environment.name,
        network: spec.network,
        seccomp: seccompLabel(seccomp),
        child: c,
        socketPath,
        dir: spec.dir,
        log,
        helpers,
        kill: () => c.kill("SIGKILL"),
        limits,
        breaches: async () => {
          const found: LimitBreach[] = [];
          if (cgroup && (await cgroup.oomKills()) > 0) found.push("memory");
          if (cgroup && (await cgroup.pidsLimitHit())) found.push("pids");
          // The root overlay reports its writable layer's filesystem: the sandbox's disk.
          const disk = limits.diskMib.enforced ? await statfs(`/proc/${sandboxPid}/root/`).catch(() => undefined) : undefined;
          if (disk && diskFull(disk)) found.push("disk");
          return found;
        },
        cleanup: async () => cgroup?.remove(),
      });
    } catch (err) {
      log.warn("sandbox start failed", { sandbox: spec.id, step: steps.at(-1), error: err });
      listener?.release();
      if (child && child.exitCode === null && child.signalCode === null) {
        const c = child;
        const gone = new Promise((r) => c.once("exit", r));
        c.kill("SIGKILL");
        await gone;
      }
      for (const h of helpers) h.kill("SIGKILL");
      await cgroup?.remove().catch(() => {});
      await removeTree(spec.dir, this.o.log);
      if (err instanceof PyroError) throw err;
      throw new PyroError("sandbox_start_failed", `sandbox ${spec.id} failed at step ${steps.at(-1)}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The sandbox directory, the manager's: traversable (not readable, not writable) by the
   * sandbox user, who needs to reach the mounts inside it; then what the launch mounts from.
   */
  private async layout(plan: LaunchPlan): Promise<void> {
    await mkdir(plan.dir, { recursive: true, mode: 0o700 });
    await chmod(plan.dir, plan.user ? 0o711 : 0o700);
    await layoutSandboxDir(plan);
  }

  /** When the manager is root, the sandbox runs as the unprivileged sandbox user: never real host root. */
  private user(): { uid: number; gid: number } | undefined {
    const user = this.o.sandboxUser;
    return user && process.getuid?.() === 0 ? user : undefined;
  }
}

/** The limits a sandbox with `r` runs under on this host: enforced, or recorded with the reason. */
function limitsInForce(r: Resources, e: Enforcement, cgroup: SandboxCgroup | undefined): LimitsInForce {
  const byCgroup = (value: number, what: string): LimitState =>
    cgroup ? { value, enforced: true, detail: `${cgroup.detail}: ${what}` } : { value, enforced: false, detail: e.cgroups.version === 0 ? e.cgroups.reason : "no cgroup" };
  return {
    vcpuCount: byCgroup(r.vcpuCount, "CPU time quota"),
    memMib: byCgroup(r.memMib, "memory limit"),
    pids: byCgroup(r.pidsMax, "process limit"),
    diskMib: e.disk.available ? { value: r.diskMib, enforced: true, detail: e.disk.detail } : { value: r.diskMib, enforced: false, detail: e.disk.reason },
  };
}

/** Keeps the last few KiB of a child's stderr. */
function collect(child: ChildProcess): () => string {
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4096)));
  return () => err;
}
