/**
 * Mutations of one workspace run one at a time, in the order they arrived; mutations of
 * different workspaces, and reads of any, run alongside (containerd's keyed mutex). A key's
 * entry is dropped once its queue is empty, so the map holds only busy keys.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` after every earlier `run` with the same key has settled; resolves or rejects as `fn` does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(fn);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Like `run`, for a generator: each value is passed on as it comes, and the key is held until it ends. */
  async *runStream<T>(key: string, fn: () => AsyncGenerator<T>): AsyncGenerator<T> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const turn = new Promise<void>((r) => (started = r));
    void this.run(key, () => {
      started();
      return held;
    });
    await turn;
    try {
      yield* fn();
    } finally {
      release();
    }
  }

  /** Keys with work queued or running. */
  get busy(): number {
    return this.tails.size;
  }
}
