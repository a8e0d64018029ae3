/**
 * The `host` backend: no isolation at all. The agent is a plain child process of the
 * manager, as the manager's user, with a per-sandbox directory standing in for
 * /workspace. Only used when the caller passes --allow-host-compat, and every result
 * says `execution_mode: host`.
 */
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../logger.js";
import type { AgentRuntime } from "../../runtime/agent-runtime.js";
import { connectAgentSandbox, waitForReady } from "../agent-process.js";
import { removeTree } from "../../environments/remove-tree.js";
import type { Backend, Probe, Sandbox, SandboxSpec } from "../backend.js";
import { unenforcedLimits } from "../resources.js";

export class HostBackend implements Backend {
  readonly name = "host" as const;
  readonly isolated = false;

  constructor(private readonly o: { runtime: () => Promise<AgentRuntime>; log: Logger; readyTimeoutMs?: number }) {}

  async probe(): Promise<Probe> {
    return { available: true, detail: "runs commands directly on this host, without isolation", hint: "" };
  }

  async create(spec: SandboxSpec, signal?: AbortSignal): Promise<Sandbox> {
    const runtime = await this.o.runtime();
    const workspace = join(spec.dir, "workspace");
    const socketPath = join(spec.dir, "run", "agent.sock");
    await mkdir(workspace, { recursive: true, mode: 0o700 });
    await mkdir(join(spec.dir, "run"), { mode: 0o700 });
    const argv = runtime.command(runtime.dir, ["--socket", socketPath, "--workspace", workspace]);
    // Its own process group, so destroy ends the agent and every command it started.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: true, cwd: workspace });
    try {
      await waitForReady(child, this.o.readyTimeoutMs ?? 15_000, signal);
    } catch (err) {
      child.kill("SIGKILL");
      await removeTree(spec.dir, this.o.log);
      throw err;
    }
    this.o.log.info("sandbox started", { sandbox: spec.id, backend: this.name, environment: spec.environment.name });
    return await connectAgentSandbox({
      id: spec.id,
      backend: this.name,
      environment: spec.environment.name,
      network: true,
      child,
      socketPath,
      dir: spec.dir,
      log: this.o.log,
      limits: unenforcedLimits(spec.resources, "the host backend runs commands on the host itself, without isolation or limits"),
      // No pid namespace here: the agent ends what its commands left running (SIGTERM),
      // then its own group goes, whether it managed or not.
      kill: () => {
        const killGroup = () => {
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            // Gone.
          }
        };
        child.kill("SIGTERM");
        const timer = setTimeout(killGroup, 1000);
        child.once("exit", () => {
          clearTimeout(timer);
          killGroup();
        });
      },
    });
  }
}
