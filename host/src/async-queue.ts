/** Turns callbacks into an async iterable: producers push, one consumer iterates until end(). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  end(error?: unknown): void {
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** Runs `work` with a push callback and yields what it pushes, then what it returns. */
export async function* withProgress<P, R>(work: (push: (p: P) => void) => Promise<R>): AsyncGenerator<P, R> {
  const q = new AsyncQueue<P>();
  const done = work((p) => q.push(p)).then(
    (r) => {
      q.end();
      return r;
    },
    (err) => {
      q.end(err);
      throw err;
    },
  );
  done.catch(() => {}); // surfaced through the queue
  yield* q;
  return await done;
}
