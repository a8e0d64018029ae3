/**
 * Memory of idle workspaces: `count` workspaces created, each having run one command, then
 * left alone while the other figures run, and measured (USS of their sandboxes' processes plus
 * their cgroups' kernel memory, see sandbox-memory.ts) twice: soon after their command, and
 * once they have been idle long enough for the agent's runtime to give memory back (it does
 * some 10 s after its last work). The pool's idle sandboxes, measured the same way at the same
 * moments, are what a sandbox costs today.
 */
import type { BenchWorkspaces } from "./bench-workspaces.js";
import { sandboxMemory, type SandboxMemory } from "./sandbox-memory.js";
import { pooledSandboxIds } from "./sandbox-processes.js";

/** How long a workspace is left alone before it counts as settled. */
export const SETTLE_MS = 20_000;

/** One measurement of the idle workspaces and the pooled sandboxes. */
export interface MemorySample {
  /** Milliseconds since the workspaces' last command. */
  idleMs: number;
  workspaces: SandboxMemory[];
  pooled: SandboxMemory[];
}

export class IdleWorkspaces {
  private constructor(
    private readonly ws: BenchWorkspaces,
    private readonly stateDir: string,
    private readonly made: { workspaceId: string; sandboxId: string }[],
    private readonly lastCommandAt: number,
  ) {}

  /** Creates `count` workspaces and runs one command in each. */
  static async start(ws: BenchWorkspaces, stateDir: string, count: number): Promise<IdleWorkspaces> {
    const made: { workspaceId: string; sandboxId: string }[] = [];
    try {
      for (let i = 0; i < count; i++) made.push(await ws.create());
      for (const w of made) await ws.pyro.execWorkspace(w.workspaceId, ["echo", "idle"]);
    } catch (err) {
      for (const w of made) await ws.delete(w.workspaceId).catch(() => {});
      throw err;
    }
    return new IdleWorkspaces(ws, stateDir, made, performance.now());
  }

  /** Measures them now, after waiting until they have been idle `atLeastMs`. */
  async measure(atLeastMs = 0): Promise<MemorySample> {
    const wait = this.lastCommandAt + atLeastMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const pooled = pooledSandboxIds(this.stateDir).flatMap((id) => {
      try {
        return [sandboxMemory(this.stateDir, id)];
      } catch {
        return []; // taken or ended since it was listed
      }
    });
    return { idleMs: performance.now() - this.lastCommandAt, workspaces: this.made.map((w) => sandboxMemory(this.stateDir, w.sandboxId)), pooled };
  }

  async delete(): Promise<void> {
    for (const w of this.made) await this.ws.delete(w.workspaceId);
  }
}

/** USS + kernel memory, in bytes. */
export function total(m: SandboxMemory): number {
  return m.uss + (m.kmem ?? 0);
}
