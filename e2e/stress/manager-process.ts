/**
 * A real manager for the stress script: the built CLI's `manager serve` as a child process
 * on a given socket and state directory, ended by its pid alone. Its resident memory and
 * open descriptors are read from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ManagerSetup {
  pyro: string;
  socketPath: string;
  env: NodeJS.ProcessEnv;
}

/** The manager's memory and descriptors at one moment. */
export interface ManagerSample {
  rssKiB: number;
  fds: number;
}

export class ManagerProcess {
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = "";

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.pid = child.pid!;
    child.stderr!.on("data", (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-4096)));
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Starts `pyro manager serve` and waits until its socket exists. */
  static async start(s: ManagerSetup): Promise<ManagerProcess> {
    const child = spawn(process.execPath, [s.pyro, "manager", "serve", "--socket", s.socketPath], { env: s.env, stdio: ["ignore", "ignore", "pipe"] });
    const m = new ManagerProcess(child);
    let exited = false;
    void m.#exited.then(() => (exited = true));
    for (let i = 0; i < 800 && !exited && !existsSync(s.socketPath); i++) await sleep(25);
    if (exited || !existsSync(s.socketPath)) {
      await m.kill();
      throw new Error(`the manager did not start on ${s.socketPath}: ${m.#stderr.trim() || "(no output)"}`);
    }
    return m;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** VmRSS and the number of open descriptors, from /proc. */
  sample(): ManagerSample {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    return { rssKiB, fds: readdirSync(`/proc/${this.pid}/fd`).length };
  }

  /** SIGKILL, and waits until it is reaped (so its pid no longer looks alive to a lock). */
  async kill(): Promise<void> {
    if (this.alive) this.#child.kill("SIGKILL");
    await this.#exited;
  }

  /** SIGTERM (the manager's own shutdown); SIGKILL when it has not ended within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.#child.kill("SIGTERM");
    const stopped = await Promise.race([this.#exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!stopped) await this.kill();
  }
}
