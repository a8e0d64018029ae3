/**
 * One piece of work that several callers wait on: each caller gets the progress events
 * (the latest one replayed when it joins) and can stop waiting on its own; the work itself
 * is cancelled only once every caller has given up.
 */
export class SharedTask<T, E> {
  readonly promise: Promise<T>;
  private readonly listeners = new Set<(event: E) => void>();
  private readonly controller = new AbortController();
  private last: E | undefined;
  private waiters = 0;

  /**
   * Starts `run` at once. `onAbandoned` runs when the last waiting caller gives up, just
   * before the work's signal is aborted.
   */
  constructor(
    run: (emit: (event: E) => void, signal: AbortSignal) => Promise<T>,
    private readonly onAbandoned: () => void = () => {},
  ) {
    this.promise = run((event) => this.emit(event), this.controller.signal);
    // Callers that gave up no longer listen; the outcome is theirs to see, not the process's.
    this.promise.catch(() => {});
  }

  /** True once every caller gave up and the work was told to stop. */
  get abandoned(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * Waits for the work's result, receiving its events from now on. When `signal` aborts,
   * this caller stops waiting and gets `cancelled()`.
   */
  join(onEvent: ((event: E) => void) | undefined, signal: AbortSignal | undefined, cancelled: () => Error): Promise<T> {
    if (signal?.aborted) return Promise.reject(cancelled());
    this.waiters++;
    if (onEvent) {
      this.listeners.add(onEvent);
      if (this.last !== undefined) safeCall(onEvent, this.last);
    }
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        signal?.removeEventListener("abort", onAbort);
        if (onEvent) this.listeners.delete(onEvent);
      };
      const onAbort = () => {
        leave();
        reject(cancelled());
        if (--this.waiters === 0 && !this.abandoned) {
          this.onAbandoned();
          this.controller.abort();
        }
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.promise.then(
        (value) => {
          leave();
          resolve(value);
        },
        (err: unknown) => {
          leave();
          reject(err);
        },
      );
    });
  }

  private emit(event: E): void {
    this.last = event;
    for (const listener of this.listeners) safeCall(listener, event);
  }
}

function safeCall<E>(listener: (event: E) => void, event: E): void {
  try {
    listener(event);
  } catch {
    // A broken listener (e.g. a client that went away) must not break the work.
  }
}
