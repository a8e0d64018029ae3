/** Test helpers that watch a process's memory through /proc/<pid>/status. */
import { readFileSync } from "node:fs";

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM …), or undefined once the process is gone. */
export function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the resident set of some processes every `intervalMs` and keeps each one's peak, until stop(). */
export class RssSampler {
  readonly peak = new Map<number, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(pids: number[], intervalMs = 100) {
    const sample = () => {
      for (const pid of pids) {
        const rss = statusBytes(pid, "VmRSS");
        if (rss !== undefined && rss > (this.peak.get(pid) ?? 0)) this.peak.set(pid, rss);
      }
    };
    sample();
    this.#timer = setInterval(sample, intervalMs);
  }

  /** Stops sampling; returns the peaks in bytes. */
  stop(): Map<number, number> {
    clearInterval(this.#timer);
    return this.peak;
  }
}

export const MiB = 1 << 20;
