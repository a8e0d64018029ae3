/**
 * Ready sandboxes, started before anyone asks. The agent's start-up (not the sandbox) is
 * what a user waits for, so after a sandbox of some kind has been used once the pool keeps
 * `size` fresh ones of that kind ready. Each sandbox is used once and destroyed: a pooled
 * sandbox is as fresh as a new one. Kinds unused for `idleMs` are dropped.
 *
 * Refills are the pool's own work, cancelled only by close(): never a request's, which ends
 * with the request. A refill starts as soon as a sandbox is taken, while the taker's command
 * runs, and a request boots at most one sandbox at a time: one that finds a sandbox on its
 * way waits for it rather than boot another beside it.
 */
import type { Sandbox } from "./backends/backend.js";
import type { Logger } from "./logger.js";

/** Makes a sandbox of one kind; aborting `signal` abandons it. */
export type MakeSandbox = (signal: AbortSignal) => Promise<Sandbox>;

export interface TakeOptions {
  /** The request's signal: it cancels a sandbox made to order for it. */
  signal: AbortSignal;
  /** Whether sandboxes of this kind should still be made ahead (e.g. its environment copy is still current). */
  canRefill?: () => Promise<boolean>;
}

interface Kind {
  make: MakeSandbox;
  canRefill: () => Promise<boolean>;
  ready: Sandbox[];
  pending: Promise<Sandbox | undefined>[];
  lastUsed: number;
}

export class SandboxPool {
  private readonly kinds = new Map<string, Kind>();
  private readonly sweeper: NodeJS.Timeout;
  /** The pool's own signal, for refills: aborted by close(). */
  private readonly closing = new AbortController();

  constructor(private readonly o: { size: number; idleMs: number; log: Logger }) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(o.idleMs, 60_000));
    this.sweeper.unref();
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /**
   * A ready sandbox of kind `key` if there is one (or one about to be), else a new one made
   * with `make` and the request's signal. `make` is also what the pool refills with, with its
   * own signal; the refill starts once this request has its sandbox.
   */
  async take(key: string, make: MakeSandbox, o: TakeOptions): Promise<Sandbox> {
    if (this.o.size === 0 || this.closed) return make(o.signal);
    let kind = this.kinds.get(key);
    if (!kind) {
      kind = { make, canRefill: o.canRefill ?? (async () => true), ready: [], pending: [], lastUsed: Date.now() };
      this.kinds.set(key, kind);
    }
    if (o.canRefill) kind.canRefill = o.canRefill;
    kind.lastUsed = Date.now();
    const k = kind;
    const got = (sandbox: Sandbox) => {
      this.refillKind(key, k);
      return sandbox;
    };
    while (kind.ready.length > 0) {
      const sandbox = kind.ready.shift()!;
      if (sandbox.alive()) return got(sandbox);
      void sandbox.destroy();
    }
    // One on its way is sooner than a new one, and booting a second beside it would slow both.
    const pending = kind.pending.shift();
    if (pending) {
      const sandbox = await pending;
      if (sandbox?.alive()) {
        if (!o.signal.aborted) return got(sandbox);
        kind.ready.push(sandbox); // the request went away meanwhile: the next one gets it
      } else if (sandbox) void sandbox.destroy();
    }
    return got(await make(o.signal));
  }

  /** Tops kind `key` up to `size` ready sandboxes, in the background. */
  refill(key: string): void {
    const kind = this.kinds.get(key);
    if (kind) this.refillKind(key, kind);
  }

  private refillKind(key: string, kind: Kind): void {
    if (this.closed) return;
    void kind.canRefill().then(
      (ok) => ok && this.topUp(key, kind),
      (err: unknown) => this.o.log.warn("pool refill check failed", { key, error: err }),
    );
  }

  private topUp(key: string, kind: Kind): void {
    while (!this.closed && this.kinds.get(key) === kind && kind.ready.length + kind.pending.length < this.o.size) {
      const p: Promise<Sandbox | undefined> = kind.make(this.closing.signal).then(
        (sandbox) => {
          const i = kind.pending.indexOf(p);
          if (i < 0 || this.closed || this.kinds.get(key) !== kind) {
            // Claimed by take() (which holds the promise) — or the pool moved on.
            if (i < 0) return sandbox;
            kind.pending.splice(i, 1);
            void sandbox.destroy();
            return undefined;
          }
          kind.pending.splice(i, 1);
          kind.ready.push(sandbox);
          return sandbox;
        },
        (err) => {
          if (!this.closed) this.o.log.warn("pool refill failed", { key, error: err });
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
    this.closing.abort(new Error("the sandbox pool is closing"));
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
