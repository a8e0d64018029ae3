/**
 * Ready sandboxes, started before anyone asks. The agent's start-up (not the sandbox) is
 * what a user waits for, so after a sandbox of some kind has been used once the pool keeps
 * `size` fresh ones of that kind ready. Each sandbox is used once and destroyed: a pooled
 * sandbox is as fresh as a new one. Kinds unused for `idleMs` are dropped.
 */
import type { Sandbox } from "./backends/backend.js";
import type { Logger } from "./logger.js";

interface Kind {
  create: () => Promise<Sandbox>;
  ready: Sandbox[];
  pending: Promise<Sandbox | undefined>[];
  lastUsed: number;
}

export class SandboxPool {
  private readonly kinds = new Map<string, Kind>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly o: { size: number; idleMs: number; log: Logger }) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(o.idleMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * A ready sandbox of kind `key` if there is one (or one about to be), else a new one.
   * `create` makes a sandbox of that kind; it is also what the pool refills with.
   */
  async take(key: string, create: () => Promise<Sandbox>): Promise<Sandbox> {
    if (this.o.size === 0 || this.closed) return create();
    let kind = this.kinds.get(key);
    if (!kind) {
      kind = { create, ready: [], pending: [], lastUsed: Date.now() };
      this.kinds.set(key, kind);
    }
    kind.lastUsed = Date.now();
    while (kind.ready.length > 0) {
      const sandbox = kind.ready.shift()!;
      if (sandbox.alive()) return sandbox;
      void sandbox.destroy();
    }
    // One on its way is sooner than a new one.
    const pending = kind.pending.shift();
    if (pending) {
      const sandbox = await pending;
      if (sandbox?.alive()) return sandbox;
    }
    return create();
  }

  /** Tops kind `key` up to `size` ready sandboxes, in the background. Call when the machine is not busy with the user's work. */
  refill(key: string): void {
    const kind = this.kinds.get(key);
    if (!kind || this.closed) return;
    while (kind.ready.length + kind.pending.length < this.o.size) {
      const p: Promise<Sandbox | undefined> = kind.create().then(
        (sandbox) => {
          const i = kind.pending.indexOf(p);
          if (i < 0 || this.closed || this.kinds.get(key) !== kind) {
            // Claimed by take() (which holds the promise) — or the pool moved on.
            if (i < 0) return sandbox;
            void sandbox.destroy();
            return undefined;
          }
          kind.pending.splice(i, 1);
          kind.ready.push(sandbox);
          return sandbox;
        },
        (err) => {
          this.o.log.warn("pool refill failed", { key, error: err });
          const i = kind.pending.indexOf(p);
          if (i >= 0) kind.pending.splice(i, 1);
          return undefined;
        },
      );
      kind.pending.push(p);
    }
  }

  /**
   * Drops every ready sandbox of kinds whose key starts with `prefix` (e.g. an environment
   * that was rebuilt or pruned), except kinds `keep` says to keep. Destroying a sandbox ends
   * its lease on its environment copy, so an old copy is not kept on disk for ready sandboxes
   * nobody will take.
   */
  async drop(prefix = "", keep: (key: string) => boolean = () => false): Promise<void> {
    const doomed: Promise<void>[] = [];
    for (const [key, kind] of this.kinds) {
      if (!key.startsWith(prefix) || keep(key)) continue;
      this.kinds.delete(key);
      doomed.push(...kind.ready.map((s) => s.destroy()));
      doomed.push(...kind.pending.map((p) => p.then((s) => s?.destroy())));
    }
    await Promise.allSettled(doomed);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await this.drop();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, kind] of this.kinds) {
      if (now - kind.lastUsed > this.o.idleMs) {
        this.o.log.debug("pool kind idle, dropping", { key });
        void this.drop(key);
      }
    }
  }
}
