/**
 * yargs' help-formatting dependencies (cliui, string-width) construct `Intl.Segmenter`s
 * when their modules load, which costs ~20 ms of ICU start-up on every `pyro` invocation,
 * although only rendering help text uses them. While `load()` runs, `Intl.Segmenter` is a
 * stand-in that builds the real segmenter on first use; afterwards the real one is back.
 */
export async function withLazySegmenter<T>(load: () => Promise<T>): Promise<T> {
  const Real = Intl.Segmenter;
  if (typeof Real !== "function") return load();
  class LazySegmenter {
    readonly #args: ConstructorParameters<typeof Intl.Segmenter>;
    #real: Intl.Segmenter | undefined;
    constructor(...args: ConstructorParameters<typeof Intl.Segmenter>) {
      this.#args = args;
    }
    #get(): Intl.Segmenter {
      return (this.#real ??= new Real(...this.#args));
    }
    segment(input: string): Intl.Segments {
      return this.#get().segment(input);
    }
    resolvedOptions(): Intl.ResolvedSegmenterOptions {
      return this.#get().resolvedOptions();
    }
  }
  const intl = Intl as { Segmenter: unknown };
  intl.Segmenter = LazySegmenter;
  try {
    return await load();
  } finally {
    intl.Segmenter = Real;
  }
}
