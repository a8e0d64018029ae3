/** The `namespace` backend: bubblewrap sandboxes over an overlay of the environment's rootfs. */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PyroError } from "../../../../sdk/src/errors.js";
import type { Logger } from "../../logger.js";
import type { AgentRuntime } from "../../runtime/agent-runtime.js";
import { connectAgentSandbox, waitForReady } from "../agent-process.js";
import { removeTree } from "../../environments/remove-tree.js";
import type { Backend, Probe, Sandbox, SandboxSpec } from "../backend.js";
import { AGENT_SOCKET_IN_SANDBOX, namespaceSandboxArgv, RUNTIME_MOUNT, WORKSPACE_IN_SANDBOX } from "./bwrap-args.js";
import { startUserModeNetwork } from "./user-mode-network.js";

const run = promisify(execFile);

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

  constructor(private readonly o: NamespaceBackendOptions) {}

  async probe(): Promise<Probe> {
    const version = await run("bwrap", ["--version"]).then((r) => r.stdout.trim(), () => "");
    if (!version) return { available: false, detail: "bubblewrap (bwrap) is not installed", hint: "apt-get install -y bubblewrap" };
    // The real thing, minus the agent: user+mount namespace, an overlay, then bwrap with every namespace.
    const tmp = join("/tmp", `pyro-probe-${process.pid}-${Date.now()}`);
    try {
      await this.layout(tmp);
      // /usr as the root filesystem has /bin/true, and does not overlap the layers under /tmp.
      const l = this.paths(tmp, "/usr");
      const argv = namespaceSandboxArgv({ ...l, runtime: l.run }, { network: false, hostname: "pyro-probe" }, ["/bin/true"]);
      await run(argv[0]!, argv.slice(1), { timeout: 10_000, ...this.spawnUser() });
      return { available: true, detail: `${version}; user, mount, pid, ipc, uts, net namespaces and overlayfs work`, hint: "" };
    } catch (err) {
      const text = String((err as { stderr?: string }).stderr || (err as Error).message).trim().split("\n").slice(-1)[0];
      return {
        available: false,
        detail: `${version} is installed but a sandbox could not start: ${text}`,
        hint: "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0) and use a kernel with overlayfs in user namespaces (5.11+)",
      };
    } finally {
      await removeTree(tmp, this.o.log);
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
    const helpers: ChildProcess[] = [];
    try {
      step("runtime");
      const runtime = await this.o.runtime();
      step("layout");
      await this.layout(spec.dir);
      const paths = this.paths(spec.dir, spec.environment.rootfs);
      let resolvConf: string | undefined;
      if (spec.network) {
        resolvConf = join(spec.dir, "resolv.conf");
        await writeFile(resolvConf, "nameserver 10.0.2.3\n", { mode: 0o644 });
      }
      step("spawn");
      const argv = namespaceSandboxArgv(
        { ...paths, runtime: runtime.dir, resolvConf },
        { network: spec.network, hostname: "pyro", infoFd: spec.network ? 3 : undefined, syncFd: spec.network ? 4 : undefined },
        runtime.command(RUNTIME_MOUNT, ["--socket", AGENT_SOCKET_IN_SANDBOX, "--workspace", WORKSPACE_IN_SANDBOX]),
      );
      child = spawn(argv[0]!, argv.slice(1), {
        stdio: ["ignore", "pipe", "pipe", ...(spec.network ? (["pipe", "pipe"] as const) : [])],
        ...this.spawnUser(),
      });
      step("agent-ready");
      await waitForReady(child, this.o.readyTimeoutMs ?? 15_000, signal);
      if (spec.network) {
        step("network");
        helpers.push(await startUserModeNetwork(child, { infoFd: 3, exitFd: 4, user: this.spawnUser(), logPath: join(spec.dir, "slirp4netns.log"), log }));
      }
      const c = child;
      log.info("sandbox started", { sandbox: spec.id, backend: this.name, environment: spec.environment.name, network: spec.network, steps });
      return await connectAgentSandbox({
        id: spec.id,
        backend: this.name,
        environment: spec.environment.name,
        network: spec.network,
        child: c,
        socketPath: join(spec.dir, "run", "agent.sock"),
        dir: spec.dir,
        log,
        helpers,
        kill: () => c.kill("SIGKILL"),
      });
    } catch (err) {
      log.warn("sandbox start failed", { sandbox: spec.id, step: steps.at(-1), error: err });
      child?.kill("SIGKILL");
      for (const h of helpers) h.kill("SIGKILL");
      await removeTree(spec.dir, this.o.log);
      if (err instanceof PyroError) throw err;
      throw new PyroError("sandbox_start_failed", `sandbox ${spec.id} failed at step ${steps.at(-1)}: ${(err as Error).message}`, { cause: err });
    }
  }

  private paths(dir: string, lower: string) {
    return {
      lower,
      upper: join(dir, "upper"),
      work: join(dir, "work"),
      merged: join(dir, "root"),
      run: join(dir, "run"),
      workspace: join(dir, "workspace"),
    };
  }

  /** Creates the sandbox's directories, owned by the sandbox user so the unprivileged sandbox can use them. */
  private async layout(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const sub of ["upper", "work", "root", "run", "workspace"]) await mkdir(join(dir, sub), { mode: 0o700 });
    const user = this.o.sandboxUser;
    if (user && process.getuid?.() === 0) {
      for (const p of [dir, ...["upper", "work", "root", "run", "workspace"].map((s) => join(dir, s))]) await chown(p, user.uid, user.gid);
    }
  }

  /** When the manager is root, the sandbox starts as the unprivileged sandbox user: never real host root. */
  private spawnUser(): { uid?: number; gid?: number } {
    const user = this.o.sandboxUser;
    return user && process.getuid?.() === 0 ? { uid: user.uid, gid: user.gid } : {};
  }
}
