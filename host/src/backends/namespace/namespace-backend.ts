/** The `namespace` backend: bubblewrap sandboxes over an overlay of the environment's rootfs. */
import type { ChildProcess } from "node:child_process";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PyroError } from "../../../../sdk/src/errors.js";
import type { Logger } from "../../logger.js";
import type { AgentRuntime } from "../../runtime/agent-runtime.js";
import { newSandboxRecord, type SandboxRecord } from "../../sandbox-record.js";
import { removeTree } from "../../environments/remove-tree.js";
import type { Backend, BackendCapabilities, Probe, Sandbox, SandboxSpec } from "../backend.js";
import { ProcessSandbox } from "../process-sandbox.js";
import { detectCgroups, endSandboxCgroup, removeStaleCgroups, type CgroupSupport } from "./cgroups.js";
import { probeDisk } from "./disk-image.js";
import { runText } from "./run-text.js";
import { seccompFilter, type SeccompFilter } from "./seccomp-filter.js";
import { layoutSandboxDir, type LaunchPlan } from "./sandbox-launch.js";
import { launch, NamespaceUnit, type Enforcement } from "./namespace-unit.js";

export type { Enforcement } from "./namespace-unit.js";

export interface NamespaceBackendOptions {
  runtime: () => Promise<AgentRuntime>;
  log: Logger;
  /** Host uid/gid the sandbox runs as when the manager is root; never root itself. */
  sandboxUser?: { uid: number; gid: number };
  readyTimeoutMs?: number;
}

export class NamespaceBackend implements Backend {
  readonly name = "namespace" as const;
  readonly isolated = true;
  readonly capabilities: BackendCapabilities = {
    isolation: "namespaces",
    // Where the host allows: cgroups and loop mounts need a manager running as root.
    limits: { vcpuCount: "cgroup", memMib: "cgroup", pids: "cgroup", diskMib: "disk-image" },
    stopStart: true,
    recover: true,
    snapshot: "none",
    network: ["off", "egress"],
    publishPorts: false,
  };
  private enforcement?: Promise<Enforcement>;
  private readonly unit: NamespaceUnit;

  constructor(private readonly o: NamespaceBackendOptions) {
    this.unit = new NamespaceUnit({ runtime: o.runtime, enforcement: () => this.enforceable(), user: () => this.user(), layout: (plan) => this.layout(plan), log: o.log });
  }

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
   * Ends what is left in the cgroups of sandboxes a killed manager made, given by id from this
   * manager's own state directory (so they are its to end), whose records name no processes
   * to end them by (a launch cut off early, or a record of the first format).
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
      const child = launch(plan, ["/bin/true"], seccomp, { output: "pipe", masks: { files: [], dirs: [] } });
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
    return ProcessSandbox.create(await newSandboxRecord(spec, this.name), this.options(), signal);
  }

  async recover(record: SandboxRecord, signal?: AbortSignal): Promise<Sandbox | "gone"> {
    return ProcessSandbox.recover(record, this.options(), signal);
  }

  private options() {
    return { unit: this.unit, log: this.o.log, readyTimeoutMs: this.o.readyTimeoutMs ?? 15_000 };
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

/** Keeps the last few KiB of a child's stderr. */
function collect(child: ChildProcess): () => string {
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4096)));
  return () => err;
}
