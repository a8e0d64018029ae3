/**
 * A bound on the work of applying a patch. Placing a hunk can cost its length times the
 * file's length (a hunk of repeated lines searched through a file of them), so a hostile
 * patch could otherwise keep the manager busy for hours. Units are line comparisons (plus
 * one per 64 bytes compared when lines are compared loosely) and, at an eighth each, line
 * entries moved; a unit is some 10 to 20 ns.
 */

/** Thrown when the budget is spent; the preflight reports the file as too_large. */
export class WorkLimitExceeded extends Error {
  override readonly name = "WorkLimitExceeded";
  constructor(readonly limit: number) {
    super(`placing the hunks needs more than ${limit} steps of work`);
  }
}

export class WorkBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Counts `units` of work; throws WorkLimitExceeded past the limit. */
  spend(units: number): void {
    this.used += units;
    if (this.used > this.limit) throw new WorkLimitExceeded(this.limit);
  }

  /** Counts `units` of work already done, without throwing (the next spend() will). */
  charge(units: number): void {
    this.used += units;
  }

  /** Work left. */
  get left(): number {
    return Math.max(0, this.limit - this.used);
  }
}
