/**
 * Memory of an idle workspace: `count` workspaces created and left alone for `settleMs`, then
 * measured (USS of its sandbox's processes plus its cgroup's kernel memory, see
 * sandbox-memory.ts) twice: as created (as a pooled sandbox waits: started, never used) and
 * after one command and another `settleMs`. The pool's idle sandboxes, measured the same way
 * at the first moment, are what a sandbox costs today.
 */
import type { BenchWorkspaces } from "./bench-workspaces.js";
import { pooledSandboxIds, sandboxMemory, type SandboxMemory } from "./sandbox-memory.js";

export async function idleMemory(ws: BenchWorkspaces, stateDir: string, count: number, settleMs: number): Promise<{ fresh: SandboxMemory[]; used: SandboxMemory[]; pooled: SandboxMemory[] }> {
  const made: { workspaceId: string; sandboxId: string }[] = [];
  const settle = () => new Promise((r) => setTimeout(r, settleMs));
  try {
    for (let i = 0; i < count; i++) made.push(await ws.create());
    await settle();
    const fresh = made.map((w) => sandboxMemory(stateDir, w.sandboxId));
    const pooled = pooledSandboxIds(stateDir).flatMap((id) => {
      try {
        return [sandboxMemory(stateDir, id)];
      } catch {
        return []; // taken or ended since it was listed
      }
    });
    for (const w of made) await ws.pyro.execWorkspace(w.workspaceId, ["echo", "idle"]);
    await settle();
    const used = made.map((w) => sandboxMemory(stateDir, w.sandboxId));
    return { fresh, used, pooled };
  } finally {
    for (const w of made) await ws.delete(w.workspaceId);
  }
}

/** USS + kernel memory, in bytes. */
export function total(m: SandboxMemory): number {
  return m.uss + (m.kmem ?? 0);
}
