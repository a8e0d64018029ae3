/**
 * Who burns the CPU while a figure runs: the CPU time (user + system, with that of reaped
 * children) of some processes between two moments, from /proc/<pid>/stat, and this process's
 * own (process.cpuUsage). Clock ticks are 10 ms, so it tells only over runs of a second or more.
 */
import { readText } from "./sandbox-processes.js";

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU milliseconds `pid` and its reaped children have used; 0 once it is gone. */
export function cpuMsOf(pid: number): number {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return 0;
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14 … cstime 17.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
}

/** Measures, between start() and stop(), the CPU of named groups of processes (found again at each end) and of this process. */
export class CpuMeter {
  #at = new Map<string, Map<number, number>>();
  #self = process.cpuUsage();

  constructor(private readonly groups: Record<string, () => number[]>) {}

  start(): this {
    this.#self = process.cpuUsage();
    for (const [name, pids] of Object.entries(this.groups)) this.#at.set(name, new Map(pids().map((p) => [p, cpuMsOf(p)])));
    return this;
  }

  /** CPU milliseconds each group used since start() (processes alive at both ends), and "this process". */
  stop(): Record<string, number> {
    const self = process.cpuUsage(this.#self);
    const out: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.groups)) {
      const before = this.#at.get(name) ?? new Map<number, number>();
      out[name] = pids().reduce((s, p) => s + (before.has(p) ? cpuMsOf(p) - before.get(p)! : 0), 0);
    }
    out["this process"] = (self.user + self.system) / 1000;
    return out;
  }
}

/** "manager 812 ms, sandbox 420 ms, this process 300 ms" per run. */
export function describeCpu(used: Record<string, number>, runs: number): string {
  return Object.entries(used)
    .map(([name, ms]) => `${name} ${(ms / runs).toFixed(0)} ms`)
    .join(", ");
}
