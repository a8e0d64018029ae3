/**
 * The workspaces a bench makes: each one created through the SDK is remembered, and deleted at
 * the end whatever happened; and where to watch them from (the manager's process and state
 * directory).
 */
import type { CreateWorkspaceOptions, Pyro, WorkspaceInfo } from "../../sdk/src/index.js";
import { CpuMeter } from "./cpu-time.js";
import { sandboxProcesses } from "./sandbox-processes.js";

export const BENCH_ENV = "debian:12";

export class BenchWorkspaces {
  readonly #live = new Set<string>();

  constructor(
    readonly pyro: Pyro,
    private readonly manager: { pid: number; stateDir: string },
  ) {}

  /** A meter of the CPU the manager and the sandbox `sandboxId` use. */
  cpuMeter(sandboxId: string): CpuMeter {
    return new CpuMeter({
      manager: () => [this.manager.pid],
      sandbox: () => {
        try {
          return sandboxProcesses(this.manager.stateDir, sandboxId).pids;
        } catch {
          return []; // ended (a reset replaces it)
        }
      },
    });
  }

  /** Creates a workspace of debian:12 (a short lifetime: a bench killed midway leaves nothing for long). */
  async create(opts: CreateWorkspaceOptions = {}): Promise<WorkspaceInfo> {
    const w = await this.pyro.createWorkspace(BENCH_ENV, { ttlSeconds: 1800, ...opts });
    this.#live.add(w.workspaceId);
    return w;
  }

  async delete(id: string): Promise<void> {
    await this.pyro.deleteWorkspace(id);
    this.#live.delete(id);
  }

  /** Deletes every workspace this bench made, and any other the manager lists (its state directory is the bench's own). */
  async deleteAll(): Promise<void> {
    const listed = await this.pyro.listWorkspaces().catch(() => []);
    const ids = new Set([...this.#live, ...listed.map((w) => w.workspaceId)]);
    for (const id of ids) {
      await this.pyro.deleteWorkspace(id).catch((err: unknown) => console.error(`cannot delete workspace ${id}: ${(err as Error).message}`));
      this.#live.delete(id);
    }
  }
}
