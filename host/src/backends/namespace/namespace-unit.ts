/**
 * One namespace sandbox's processes: how they start on the sandbox's files, how they end,
 * and what they ran into. A sandbox is the launched process (the setup stage, which becomes
 * bubblewrap), its pid namespace's init (bubblewrap's child: SIGKILL of it ends every
 * process in the namespace), its network helper, and its cgroups. It runs in a session of
 * its own with its output in files, so nothing ties it to the manager but, for one-shot
 * sandboxes, bubblewrap's --die-with-parent.
 *
 * Every kill is of a process the record names by identity (pid and start time, checked
 * right before the signal), never of a bare pid that may have been reused.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync } from "node:fs";
import { lstat, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { PyroError } from "../../../../sdk/src/errors.js";
import { untrustedText } from "../../agent-link/untrusted-text.js";
import { identify, isRunningSync, killIdentified, waitGone, type ProcessIdentity } from "../../process-identity.js";
import type { Logger } from "../../logger.js";
import type { SandboxRecord } from "../../sandbox-record.js";
import type { AgentRuntime } from "../../runtime/agent-runtime.js";
import { bindAgentListener, type AgentListener } from "../agent-listener.js";
import type { LaunchContext, Liveness, SandboxUnit } from "../process-sandbox.js";
import type { LimitBreach, LimitsInForce, LimitState, Resources } from "../resources.js";
import { logTail, openLaunchLog } from "../sandbox-logs.js";
import { bwrapArgs, encodeArgs, MASKED_PROC_DIRS, MASKED_PROC_FILES, RUNTIME_MOUNT, WORKSPACE_IN_SANDBOX } from "./bwrap-args.js";
import { adoptSandboxCgroup, createSandboxCgroup, endRecordedCgroups, endSandboxCgroup, type CgroupSupport, type SandboxCgroup } from "./cgroups.js";
import { makeDiskImage, probeDisk, waitLoopDetached } from "./disk-image.js";
import { readSandboxPid } from "./info-fd.js";
import { LAUNCH_ENV, LAUNCH_FDS, launchArgv, launchLayout, layoutSandboxDir, SANDBOX_NAMES, type LaunchPlan } from "./sandbox-launch.js";
import { seccompFilter, seccompLabel, sendSeccompFilter, type SeccompFilter } from "./seccomp-filter.js";
import { startUserModeNetwork } from "./user-mode-network.js";

/** What this host lets the backend enforce, found once. */
export interface Enforcement {
  cgroups: CgroupSupport;
  disk: Awaited<ReturnType<typeof probeDisk>>;
}

/** Files in the sandbox directory: the launch's output and the network helper's. */
export const LOG_NAMES = { sandbox: "sandbox.log", network: "slirp4netns.log" } as const;
/** How long a stopped sandbox's disk may take to be let go of by the kernel. */
const DETACH_TIMEOUT_MS = 10_000;
/** How long killed processes may take to be gone. */
const GONE_TIMEOUT_MS = 10_000;

let masks: { files: string[]; dirs: string[] } | undefined;

/** The masked /proc paths this kernel has (bwrap cannot mount over a missing one); found once, as the kernel's set does not change. */
function presentMasks() {
  masks ??= { files: MASKED_PROC_FILES.filter((p) => existsSync(p)), dirs: MASKED_PROC_DIRS.filter((p) => existsSync(p)) };
  return masks;
}

export interface LaunchOptions {
  /** The agent's listening socket, passed as fd LAUNCH_FDS.listen. */
  listener?: AgentListener;
  /** Where its stdout and stderr go (a file; "ignore" for none). */
  output?: number | "pipe";
  dieWithParent?: boolean;
  masks?: { files: string[]; dirs: string[] };
}

/**
 * Spawns the launch of `plan` running `command` inside under the seccomp filter, in a session
 * of its own, with bwrap's arguments and the filter written to their pipes.
 */
export function launch(plan: LaunchPlan, command: string[], seccomp: SeccompFilter, o: LaunchOptions = {}): ChildProcess {
  const args = bwrapArgs(launchLayout(plan.dir, plan.network), {
    hostname: "pyro",
    masks: o.masks ?? presentMasks(),
    infoFd: LAUNCH_FDS.info,
    seccompFd: LAUNCH_FDS.seccomp,
    syncFd: plan.network ? LAUNCH_FDS.sync : undefined,
    dieWithParent: o.dieWithParent ?? true,
  });
  const argv = launchArgv(plan, command);
  const out = o.output ?? "ignore";
  const child = spawn(argv[0]!, argv.slice(1), {
    // With network, a socket pair: bwrap's end for --sync-fd, the manager's for the network helper's --exit-fd.
    stdio: ["ignore", out, out, "pipe", "pipe", o.listener?.fd ?? "ignore", "pipe", plan.network ? "pipe" : "ignore"],
    env: LAUNCH_ENV,
    // Its own session: a signal to the manager's process group (a Ctrl-C) is not the sandbox's.
    detached: true,
  });
  const pipes = child.stdio as unknown as Array<Writable | null>;
  const argsPipe = pipes[LAUNCH_FDS.args]!;
  argsPipe.on("error", () => {}); // a launch that fails early stops reading; its exit tells why
  argsPipe.end(encodeArgs(args));
  sendSeccompFilter(pipes[LAUNCH_FDS.seccomp], seccomp);
  return child;
}

/** The disk counts as full when less than this is left (ext4 keeps a little for itself). */
function diskFull(s: { bavail: number; bsize: number; blocks: number }): boolean {
  return s.bavail * s.bsize < Math.max(2 << 20, (s.blocks * s.bsize) / 100);
}

/** The limits a sandbox with `r` runs under on this host: enforced, or recorded with the reason. */
export function limitsInForce(r: Resources, e: Enforcement, cgroup: SandboxCgroup | undefined, disk: boolean): LimitsInForce {
  const byCgroup = (value: number, what: string): LimitState =>
    cgroup ? { value, enforced: true, detail: `${cgroup.detail}: ${what}` } : { value, enforced: false, detail: e.cgroups.version === 0 ? e.cgroups.reason : "no cgroup" };
  return {
    vcpuCount: byCgroup(r.vcpuCount, "CPU time quota"),
    memMib: byCgroup(r.memMib, "memory limit"),
    pids: byCgroup(r.pidsMax, "process limit"),
    diskMib: e.disk.available
      ? disk
        ? { value: r.diskMib, enforced: true, detail: e.disk.detail }
        : { value: r.diskMib, enforced: false, detail: "its files were made without a disk image" }
      : { value: r.diskMib, enforced: false, detail: e.disk.reason },
  };
}

export interface NamespaceUnitOptions {
  runtime: () => Promise<AgentRuntime>;
  enforcement: () => Promise<Enforcement>;
  /** The unprivileged user the sandbox runs as when the manager is root. */
  user: () => { uid: number; gid: number } | undefined;
  /** Makes the sandbox directory the manager's and traversable by the sandbox user, then lays it out. */
  layout: (plan: LaunchPlan) => Promise<void>;
  log: Logger;
}

export class NamespaceUnit implements SandboxUnit {
  constructor(private readonly o: NamespaceUnitOptions) {}

  async launch(ctx: LaunchContext): Promise<void> {
    const r = ctx.record;
    const log = this.o.log;
    const steps: string[] = [];
    const step = (name: string) => {
      steps.push(name);
      log.debug("sandbox step", { sandbox: r.id, step: name });
    };
    let child: ChildProcess | undefined;
    let listener: AgentListener | undefined;
    let cgroup: SandboxCgroup | undefined;
    let helper: ChildProcess | undefined;
    try {
      step("runtime");
      const runtime = await this.o.runtime();
      const enforcement = await this.o.enforcement();
      const user = this.o.user();
      step("limits");
      if (enforcement.cgroups.version !== 0) {
        // A cgroup of the same name is what a launch cut off by a crash left: its processes end first.
        if (!ctx.first) await endSandboxCgroup(enforcement.cgroups, r.id);
        cgroup = await createSandboxCgroup(enforcement.cgroups, r.id, r.resources);
      }
      const image = join(r.dir, SANDBOX_NAMES.diskImage);
      // Its files stay where its first launch put them: on a disk image, or in its directory.
      const disk = ctx.first ? enforcement.disk.available : !!(await lstat(image).catch(() => undefined));
      if (disk && !enforcement.disk.available) throw new PyroError("sandbox_start_failed", `sandbox ${r.id} keeps its files on a disk image, which this manager cannot mount: ${enforcement.disk.reason}`);
      const plan: LaunchPlan = { dir: r.dir, rootfs: r.environment.rootfs, runtime: runtime.dir, user, network: r.network, cgroupProcs: cgroup?.procsFiles, disk };
      step("layout");
      await this.o.layout(plan);
      if (disk && ctx.first) await makeDiskImage(image, r.resources.diskMib, user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
      else if (disk && !(await waitLoopDetached(image, DETACH_TIMEOUT_MS))) throw new Error("its disk is still attached from its last run");
      const socketPath = join(r.dir, SANDBOX_NAMES.agentSocket);
      listener = await bindAgentListener(socketPath);
      const seccomp = seccompFilter();
      step("spawn");
      const output = openLaunchLog(join(r.dir, LOG_NAMES.sandbox));
      try {
        const command = runtime.command(RUNTIME_MOUNT, ["--listen-fd", String(LAUNCH_FDS.listen), "--workspace", WORKSPACE_IN_SANDBOX]);
        child = launch(plan, command, seccomp, { listener, output, dieWithParent: !r.durable });
      } finally {
        closeSync(output);
      }
      listener.release();
      listener = undefined;
      const c = child;
      const exited = new Promise<never>((_, fail) => {
        c.once("error", (e) => fail(e));
        c.once("exit", (code, sig) => fail(new Error(`the sandbox exited at start (${sig ?? `exit ${code}`}): ${untrustedText(logTail(join(r.dir, LOG_NAMES.sandbox)))}`)));
      });
      exited.catch(() => {});
      const launched = await identify(c.pid ?? 0);
      if (!launched) await exited;
      const initPid = await Promise.race([readSandboxPid(c, LAUNCH_FDS.info), exited]);
      const init = await identify(initPid);
      if (!init) await exited;
      await ctx.save({
        processes: { launch: launched, init },
        agent: { socket: socketPath },
        limits: limitsInForce(r.resources, enforcement, cgroup, disk),
        seccomp: seccompLabel(seccomp),
        ...(cgroup ? { cgroups: cgroup.dirs } : {}),
      });
      step("agent-ready");
      await ctx.awaitAgent({ launch: c, tail: () => logTail(join(r.dir, LOG_NAMES.sandbox)) });
      if (r.network) {
        step("network");
        helper = await startUserModeNetwork(c, { pid: init!.pid, exitFd: LAUNCH_FDS.sync, user: user ?? {}, logPath: join(r.dir, LOG_NAMES.network), log });
        const network = await identify(helper.pid ?? 0);
        if (!network) throw new Error("the network helper exited at start");
        await ctx.save({ processes: { ...ctx.record.processes, network } });
      }
      log.info("sandbox started", { sandbox: r.id, backend: "namespace", environment: r.environment.name, network: r.network, durable: r.durable, steps });
    } catch (err) {
      log.warn("sandbox start failed", { sandbox: r.id, step: steps.at(-1), error: err });
      listener?.release();
      if (child && child.exitCode === null && child.signalCode === null) {
        const c = child;
        const gone = new Promise((res) => c.once("exit", res));
        c.kill("SIGKILL");
        await gone;
      }
      helper?.kill("SIGKILL");
      await cgroup?.remove().catch(() => {});
      if (err instanceof PyroError) throw err;
      throw new PyroError("sandbox_start_failed", `sandbox ${r.id} failed at step ${steps.at(-1)}: ${(err as Error).message}`, { cause: err });
    }
  }

  async end(r: SandboxRecord): Promise<void> {
    const ids = [r.processes.init, r.processes.launch, r.processes.network].filter((p): p is ProcessIdentity => p !== undefined);
    // The pid namespace's init first: the kernel then ends every process in it.
    for (const id of ids) killIdentified(id, "SIGKILL");
    const { cgroups } = await this.o.enforcement();
    // Whatever else is in its cgroups is the sandbox's too (a setup stage cut off mid-launch).
    if (r.cgroups?.length) await endRecordedCgroups(r.cgroups, r.id);
    else if (cgroups.version !== 0) await endSandboxCgroup(cgroups, r.id);
    if (!(await waitGone(ids, GONE_TIMEOUT_MS))) this.o.log.warn("sandbox processes outlived their kill", { sandbox: r.id });
  }

  /** A stopped sandbox's disk is let go of only once its last process is gone: wait, so that its files are at rest. */
  async quiesce(r: SandboxRecord): Promise<void> {
    const image = join(r.dir, SANDBOX_NAMES.diskImage);
    if (!(await lstat(image).catch(() => undefined))) return;
    if (!(await waitLoopDetached(image, DETACH_TIMEOUT_MS))) this.o.log.warn("a stopped sandbox's disk is still attached", { sandbox: r.id });
  }

  liveness(r: SandboxRecord): Liveness {
    const ids = [r.processes.launch, r.processes.init, ...(r.network ? [r.processes.network] : [])];
    const running = ids.filter((id) => id !== undefined && isRunningSync(id)).length;
    return running === ids.length ? "all" : running === 0 ? "none" : "some";
  }

  async breaches(r: SandboxRecord): Promise<LimitBreach[]> {
    const found: LimitBreach[] = [];
    const cgroup = r.cgroups?.length ? adoptSandboxCgroup(r.cgroups, r.id, "") : undefined;
    if (cgroup && (await cgroup.oomKills()) > 0) found.push("memory");
    if (cgroup && (await cgroup.pidsLimitHit())) found.push("pids");
    // The root overlay reports its writable layer's filesystem: the sandbox's disk.
    const init = r.processes.init;
    const disk = r.limits?.diskMib.enforced && init && isRunningSync(init) ? await statfs(`/proc/${init.pid}/root/`).catch(() => undefined) : undefined;
    if (disk && diskFull(disk)) found.push("disk");
    return found;
  }

  async hasFiles(r: SandboxRecord): Promise<boolean> {
    const present = async (name: string) => !!(await lstat(join(r.dir, name)).catch(() => undefined));
    return (await present(SANDBOX_NAMES.diskImage)) || (await present(SANDBOX_NAMES.upper));
  }

  logs(r: SandboxRecord): string[] {
    return [join(r.dir, LOG_NAMES.sandbox), ...(r.network ? [join(r.dir, LOG_NAMES.network)] : [])];
  }
}
