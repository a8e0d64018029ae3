/**
 * Environment install progress on stderr: one `[pull] …` line per event (greppable, also
 * in logs and CI), and on a terminal a single status line below them that keeps showing
 * the elapsed time between events.
 */
import type { PullProgressInfo } from "../../sdk/src/types.js";
import type { OutStream } from "./io.js";

/** `[pull] phase=download environment=debian:12 elapsed_ms=1200 message="…"`. */
export function progressLine(p: PullProgressInfo): string {
  const msg = p.message ? ` message=${JSON.stringify(p.message)}` : "";
  return `[pull] phase=${p.phase} environment=${p.environment} elapsed_ms=${p.elapsedMs}${msg}`;
}

const CLEAR_LINE = "\r\x1b[2K";
const REDRAW_MS = 100;

export class PullProgressReporter {
  private last: PullProgressInfo | undefined;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private statusShown = false;

  constructor(
    private readonly out: OutStream,
    private readonly now: () => number = Date.now,
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  update(p: PullProgressInfo): void {
    if (!this.last) this.startedAt = this.now() - p.elapsedMs;
    this.last = p;
    this.clearStatus();
    this.out.write(progressLine(p) + "\n");
    if (!this.tty) return;
    if (p.phase === "done") {
      this.stop();
      return;
    }
    this.drawStatus();
    this.timer ??= setInterval(() => this.drawStatus(), REDRAW_MS).unref();
  }

  /** Removes the status line and stops redrawing it (before command output starts, and at the end). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearStatus();
  }

  private drawStatus(): void {
    const p = this.last;
    if (!p) return;
    const secs = ((this.now() - this.startedAt) / 1000).toFixed(1);
    let line = `pulling ${p.environment}: ${p.phase} ${secs}s${p.message ? ` - ${p.message}` : ""}`;
    const width = (this.out.columns ?? 80) - 1;
    if (line.length > width) line = line.slice(0, Math.max(0, width - 1)) + "…";
    this.out.write(CLEAR_LINE + line);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (!this.statusShown) return;
    this.out.write(CLEAR_LINE);
    this.statusShown = false;
  }
}
