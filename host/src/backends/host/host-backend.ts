/**
 * The `host` backend: no isolation at all. The agent is a plain process on the host, as the
 * manager's user, in a session and process group of its own, with a per-sandbox directory
 * standing in for /workspace. Only used when the caller passes --allow-host-compat, and
 * every result says `execution_mode: host`.
 *
 * It keeps what it can of the contract honestly: its agent outlives the manager and is
 * re-adopted by the next one, and a stopped sandbox keeps its workspace directory. It has
 * no pid namespace, so ending it is the agent's own work (it ends every process group it
 * started when asked to stop), then its group's; a command that left both behind is not
 * found. No limit is enforced, and its network is the host's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync } from "node:fs";
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { untrustedText } from "../../agent-link/untrusted-text.js";
import type { Logger } from "../../logger.js";
import { identify, isRunningSync, killIdentified, waitGone } from "../../process-identity.js";
import type { AgentRuntime } from "../../runtime/agent-runtime.js";
import { newSandboxRecord, type SandboxRecord } from "../../sandbox-record.js";
import { bindAgentListener, type AgentListener } from "../agent-listener.js";
import type { Backend, BackendCapabilities, Probe, Sandbox, SandboxSpec } from "../backend.js";
import { ProcessSandbox, type LaunchContext, type Liveness, type SandboxUnit } from "../process-sandbox.js";
import { unenforcedLimits } from "../resources.js";
import { logTail, openLaunchLog } from "../sandbox-logs.js";

const NO_LIMITS = "the host backend runs commands on the host itself, without isolation or limits";
/** How long the agent has to end what it started before its process group is killed. */
const TERM_GRACE_MS = 1_000;
const LOG = "agent.log";

interface HostOptions {
  runtime: () => Promise<AgentRuntime>;
  log: Logger;
  readyTimeoutMs?: number;
}

class HostUnit implements SandboxUnit {
  constructor(private readonly o: HostOptions) {}

  async launch(ctx: LaunchContext): Promise<void> {
    const r = ctx.record;
    const runtime = await this.o.runtime();
    const workspace = join(r.dir, "workspace");
    const run = join(r.dir, "run");
    await mkdir(workspace, { recursive: true, mode: 0o700 });
    await mkdir(run, { recursive: true, mode: 0o700 });
    const socketPath = join(run, "agent.sock");
    let listener: AgentListener | undefined = await bindAgentListener(socketPath);
    const output = openLaunchLog(join(r.dir, LOG));
    // fd 3 is the listening socket the manager bound.
    const argv = runtime.command(runtime.dir, ["--listen-fd", "3", "--workspace", workspace]);
    let child: ChildProcess;
    try {
      // Its own session and process group, so stop ends the agent and every command it started.
      child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", output, output, listener.fd], detached: true, cwd: workspace });
      child.once("error", () => {}); // its exit, or the handshake, says what went wrong
    } finally {
      closeSync(output);
      listener.release();
      listener = undefined;
    }
    try {
      const launched = await identify(child.pid ?? 0);
      await ctx.save({ processes: launched ? { launch: launched } : {}, agent: { socket: socketPath }, limits: unenforcedLimits(r.resources, NO_LIMITS) });
      await ctx.awaitAgent({ launch: child, tail: () => untrustedText(logTail(join(r.dir, LOG))) });
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      throw err;
    }
    this.o.log.info("sandbox started", { sandbox: r.id, backend: "host", environment: r.environment.name, durable: r.durable });
  }

  async end(r: SandboxRecord): Promise<void> {
    const agent = r.processes.launch;
    if (!agent) return;
    // No pid namespace here: the agent ends what its commands left running (SIGTERM), then
    // its own group goes, while its leader still runs (so the group id cannot have been reused).
    if (killIdentified(agent, "SIGTERM") && !(await waitGone([agent], TERM_GRACE_MS)) && isRunningSync(agent)) {
      try {
        process.kill(-agent.pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    if (!(await waitGone([agent], 5_000))) this.o.log.warn("the host sandbox's agent outlived its kill", { sandbox: r.id });
  }

  liveness(r: SandboxRecord): Liveness {
    return r.processes.launch && isRunningSync(r.processes.launch) ? "all" : "none";
  }

  async breaches(): Promise<[]> {
    return [];
  }

  async hasFiles(r: SandboxRecord): Promise<boolean> {
    return !!(await lstat(join(r.dir, "workspace")).catch(() => undefined))?.isDirectory();
  }

  logs(r: SandboxRecord): string[] {
    return [join(r.dir, LOG)];
  }
}

export class HostBackend implements Backend {
  readonly name = "host" as const;
  readonly isolated = false;
  readonly capabilities: BackendCapabilities = {
    isolation: "none",
    limits: { vcpuCount: "none", memMib: "none", diskMib: "none", pids: "none" },
    stopStart: true,
    recover: true,
    snapshot: "none",
    network: ["host"],
    publishPorts: false,
  };
  private readonly unit: HostUnit;

  constructor(private readonly o: HostOptions) {
    this.unit = new HostUnit(o);
  }

  async probe(): Promise<Probe> {
    return { available: true, detail: "runs commands directly on this host, without isolation", hint: "" };
  }

  async create(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    // Whatever was asked, its network is the host's.
    return ProcessSandbox.create({ ...(await newSandboxRecord(spec, this.name)), network: true }, this.options(), signal);
  }

  async recover(record: SandboxRecord, signal?: AbortSignal): Promise<Sandbox | "gone"> {
    return ProcessSandbox.recover(record, this.options(), signal);
  }

  private options() {
    return { unit: this.unit, log: this.o.log, readyTimeoutMs: this.o.readyTimeoutMs ?? 15_000 };
  }
}
