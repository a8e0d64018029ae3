/**
 * The host's backstop for an agent that never reports the end of a command. It fires
 * `graceMs` after the command's deadline — unless the agent is still delivering (a slow
 * reader holds output back, so the exit status comes late), in which case it waits while
 * events keep coming, up to `hardMs` after it started whatever happens.
 */
export class Watchdog {
  readonly #controller = new AbortController();
  readonly #started = Date.now();
  #lastActivity = Date.now();
  #timer: NodeJS.Timeout;

  constructor(
    deadlineMs: number,
    private readonly graceMs: number,
    private readonly hardMs: number,
  ) {
    this.#timer = setTimeout(() => this.#check(), Math.min(deadlineMs + graceMs, hardMs));
  }

  /** Aborted when the watchdog fired. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The agent was heard from. */
  activity(): void {
    this.#lastActivity = Date.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #check(): void {
    const now = Date.now();
    const quietFor = now - this.#lastActivity;
    const left = this.hardMs - (now - this.#started);
    if (quietFor >= this.graceMs || left <= 0) {
      this.#controller.abort();
      return;
    }
    this.#timer = setTimeout(() => this.#check(), Math.min(this.graceMs - quietFor, left));
  }
}
