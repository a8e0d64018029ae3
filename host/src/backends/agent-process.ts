/**
 * Shared by the backends that start the agent as a child process of the manager (namespace
 * and host): wait for its ready line, keep its stderr for the log, connect to its socket,
 * and kill and clean up on destroy.
 */
import type { ChildProcess } from "node:child_process";
import { createClient, type Client } from "@connectrpc/connect";
import { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { FileService } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { AgentConnection, dialUnixSocket } from "../agent-link/agent-connection.js";
import { ExecEventGuard } from "../agent-link/exec-event-guard.js";
import { untrustedText } from "../agent-link/untrusted-text.js";
import { removeTree } from "../environments/remove-tree.js";
import type { Logger } from "../logger.js";
import type { BackendName, Sandbox } from "./backend.js";
import type { LimitBreach, LimitsInForce } from "./resources.js";

const READY_LINE = "PYRO_AGENT_READY";
const STDERR_TAIL_BYTES = 4096;

/** Resolves when the child prints the agent's ready line; rejects when it exits first or takes too long. */
export function waitForReady(child: ChildProcess, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok, fail) => {
    let out = "";
    let err = "";
    const done = (e?: Error) => {
      clearTimeout(timer);
      child.stdout?.off("data", onOut);
      child.off("exit", onExit);
      signal?.removeEventListener("abort", onAbort);
      if (e) fail(e);
      else ok();
    };
    const onOut = (d: Buffer) => {
      out += d.toString();
      if (out.includes(READY_LINE + "\n")) done();
    };
    const onErr = (d: Buffer) => {
      err = (err + d.toString()).slice(-STDERR_TAIL_BYTES);
    };
    const tail = () => err.trim().split("\n").slice(-3).join(" | ") || "no output";
    const onExit = (code: number | null, sig: string | null) =>
      done(new PyroError("sandbox_start_failed", `the sandbox exited before its agent was ready (${sig ?? `exit ${code}`}): ${tail()}`));
    const onAbort = () => done(new PyroError("cancelled", "sandbox start was cancelled"));
    const timer = setTimeout(() => done(new PyroError("sandbox_start_failed", `the sandbox's agent was not ready after ${timeoutMs} ms: ${tail()}`)), timeoutMs);
    child.stdout?.on("data", onOut);
    child.stderr?.on("data", onErr);
    child.once("exit", onExit);
    signal?.addEventListener("abort", onAbort);
  });
}

export interface AgentProcessSandboxOptions {
  id: string;
  backend: BackendName;
  environment: string;
  network: boolean;
  /** The seccomp filter the sandbox runs under, when it has one. */
  seccomp?: string;
  child: ChildProcess;
  socketPath: string;
  dir: string;
  log: Logger;
  /** Extra processes to end with the sandbox (e.g. a network helper). */
  helpers?: ChildProcess[];
  /** Kills the sandbox's processes. */
  kill(): void;
  limits: LimitsInForce;
  /** The limits the sandbox ran into; none when not given. */
  breaches?: () => Promise<LimitBreach[]>;
  /** Runs once every process is gone, before the directory is removed (e.g. to remove cgroups). */
  cleanup?: () => Promise<void>;
}

/** Capabilities the host needs of an agent before it hands the sandbox out. */
export const REQUIRED_CAPABILITIES = ["exec.v1", "exec.timeout.v1"];

/**
 * Checks what the agent can do, then runs one throwaway command. Besides the check, this
 * opens the HTTP/2 connection and warms the agent's request and spawn paths (fork, pipes,
 * stream encoding), so the first real command pays for none of it.
 */
export async function handshakeAgent(agent: Client<typeof AgentService>): Promise<void> {
  const info = await agent.getInfo({}, { timeoutMs: 10_000 });
  const missing = REQUIRED_CAPABILITIES.filter((c) => !info.capabilities.includes(c));
  if (missing.length > 0) throw new PyroError("sandbox_start_failed", `the sandbox's agent (${untrustedText(info.version, 64)}) lacks ${missing.join(", ")}`);
  const guard = new ExecEventGuard();
  for await (const res of agent.exec({ argv: ["/bin/true"], timeoutMs: 10_000n }, { timeoutMs: 10_000 })) guard.check(res);
  guard.end();
}

/** Connects to the agent and hands the sandbox out (or to the pool) only once the handshake passed. */
export async function connectAgentSandbox(o: AgentProcessSandboxOptions): Promise<Sandbox> {
  const sandbox = agentProcessSandbox(o);
  try {
    await handshakeAgent(sandbox.agent);
    return sandbox;
  } catch (err) {
    await sandbox.destroy();
    if (err instanceof PyroError) throw err;
    throw new PyroError("sandbox_start_failed", `the sandbox's agent did not answer: ${untrustedText((err as Error).message)}`, { cause: err });
  }
}

/** A sandbox whose agent is `child`, reached on `socketPath`. */
function agentProcessSandbox(o: AgentProcessSandboxOptions): Sandbox {
  // Made once, before any command runs; never remade (see AgentConnection).
  const conn = new AgentConnection(dialUnixSocket(o.socketPath), {
    onFailure: (err) => o.log.warn("agent connection ended", { sandbox: o.id, reason: untrustedText(err.message) }),
  });
  let exited = false;
  o.child.once("exit", () => (exited = true));
  o.child.stderr?.on("data", (d: Buffer) => o.log.debug("agent stderr", { sandbox: o.id, text: d.toString().slice(0, 2000) }));
  let destroying: Promise<void> | undefined;
  return {
    id: o.id,
    backend: o.backend,
    environment: o.environment,
    network: o.network,
    seccomp: o.seccomp,
    pid: o.child.pid ?? 0,
    agent: createClient(AgentService, conn.transport),
    files: createClient(FileService, conn.transport),
    limits: o.limits,
    breaches: o.breaches ?? (async () => []),
    alive: () => !exited && destroying === undefined && conn.failure === undefined,
    destroy() {
      destroying ??= (async () => {
        conn.close();
        const gone = exited ? Promise.resolve() : new Promise<void>((r) => o.child.once("exit", () => r()));
        o.kill();
        for (const h of o.helpers ?? []) h.kill("SIGKILL");
        await gone;
        await o.cleanup?.().catch((err: unknown) => o.log.warn("sandbox cleanup failed", { sandbox: o.id, error: err }));
        await removeTree(o.dir, o.log);
        o.log.debug("sandbox destroyed", { sandbox: o.id });
      })();
      return destroying;
    },
  };
}
