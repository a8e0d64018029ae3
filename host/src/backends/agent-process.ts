/**
 * The agent's side of starting a sandbox, shared by the backends that run the agent as a
 * process (namespace and host): is it ready, and can it do what the host needs?
 *
 * Readiness is a dial, not a message: the manager binds the agent's listening socket before
 * the launch, so connecting succeeds at once and the first call waits in the socket's queue
 * until the agent serves. No pipe from the sandbox to the manager is needed, so none ties
 * the sandbox's life to the manager's; while the manager watches the launch, its early exit
 * still fails the start at once.
 */
import type { ChildProcess } from "node:child_process";
import type { Client } from "@connectrpc/connect";
import type { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { ExecEventGuard } from "../agent-link/exec-event-guard.js";
import { untrustedText } from "../agent-link/untrusted-text.js";

const READY_LINE = "PYRO_AGENT_READY";
const STDERR_TAIL_BYTES = 4096;

/**
 * Resolves when the child prints the agent's ready line; rejects when it exits first or takes
 * too long. Only for an agent the manager runs with pipes for a moment (the runtime's warm-up).
 */
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

/** Capabilities the host needs of an agent before it hands the sandbox out. */
export const REQUIRED_CAPABILITIES = ["exec.v1", "exec.timeout.v1"];

/**
 * Checks what the agent can do, then runs one throwaway command. Besides the check, this
 * opens the HTTP/2 connection and warms the agent's request and spawn paths (fork, pipes,
 * stream encoding), so the first real command pays for none of it.
 */
export async function handshakeAgent(agent: Client<typeof AgentService>, signal?: AbortSignal): Promise<void> {
  const info = await agent.getInfo({}, { timeoutMs: 10_000, signal });
  const missing = REQUIRED_CAPABILITIES.filter((c) => !info.capabilities.includes(c));
  if (missing.length > 0) throw new PyroError("sandbox_start_failed", `the sandbox's agent (${untrustedText(info.version, 64)}) lacks ${missing.join(", ")}`);
  const guard = new ExecEventGuard();
  for await (const res of agent.exec({ argv: ["/bin/true"], timeoutMs: 10_000n }, { timeoutMs: 10_000, signal })) guard.check(res);
  guard.end();
}

export interface AwaitAgentOptions {
  /** The launched process, while the manager is its parent: its exit fails the wait at once. */
  launch?: ChildProcess;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Why the launch failed, from its log, for the error message. */
  tail: () => string;
}

/** Waits until the agent passes the handshake; fails at once when the launch exits first, on timeout, or when cancelled. */
export async function awaitAgent(agent: Client<typeof AgentService>, o: AwaitAgentOptions): Promise<void> {
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  let onExit: ((code: number | null, sig: string | null) => void) | undefined;
  const exited = new Promise<never>((_, fail) => {
    onExit = (code, sig) => fail(new PyroError("sandbox_start_failed", `the sandbox exited before its agent was ready (${sig ?? `exit ${code}`}): ${untrustedText(o.tail()) || "no output"}`));
    if (o.launch && (o.launch.exitCode !== null || o.launch.signalCode !== null)) onExit(o.launch.exitCode, o.launch.signalCode);
    else o.launch?.once("exit", onExit);
  });
  exited.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new PyroError("sandbox_start_failed", `the sandbox's agent was not ready after ${o.timeoutMs} ms: ${untrustedText(o.tail()) || "no output"}`)), o.timeoutMs);
  });
  timedOut.catch(() => {});
  try {
    await Promise.race([
      handshakeAgent(agent, signal).catch(async (err: unknown) => {
        if (o.signal?.aborted) throw new PyroError("cancelled", "sandbox start was cancelled");
        // The launch dying takes its listening socket along, which fails the call too: say why it died.
        await Promise.race([exited, new Promise((r) => setTimeout(r, 200))]);
        if (err instanceof PyroError) throw err;
        throw new PyroError("sandbox_start_failed", `the sandbox's agent did not answer: ${untrustedText((err as Error).message)}`, { cause: err });
      }),
      exited,
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
    if (onExit) o.launch?.off("exit", onExit);
    stop.abort();
  }
}
