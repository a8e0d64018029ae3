/** Calling a caller's callbacks so that what they throw leaves a call unchanged (not as `internal`). */

/** Wraps an exception thrown by a caller's callback so it leaves unchanged, not as `internal`. */
export class CallbackError {
  constructor(readonly inner: unknown) {}
}

export function callback<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A): void {
  if (!fn) return;
  try {
    fn(...args);
  } catch (err) {
    throw new CallbackError(err);
  }
}

/**
 * Calls a callback that may return a promise and waits for it: the stream is not read
 * meanwhile, so HTTP/2 flow control carries a slow consumer's pace back to the manager and
 * on to the command's pipes.
 */
export async function awaitedCallback<A extends unknown[]>(fn: ((...args: A) => void | Promise<void>) | undefined, ...args: A): Promise<void> {
  if (!fn) return;
  try {
    await fn(...args);
  } catch (err) {
    throw new CallbackError(err);
  }
}
