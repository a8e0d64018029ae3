/** Medians and p95s of timings, and the rows `npm run bench` prints them in. */

/** The median and the 95th percentile of some timings, in milliseconds. */
export interface Stats {
  median: number;
  p95: number;
}

/** Median and p95 (nearest rank) of `ms`. */
export function stats(ms: number[]): Stats {
  if (ms.length === 0) throw new Error("no timings");
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p95: at(0.95) };
}

/** Runs `fn` `warmup + runs` times one after another; resolves the milliseconds of the last `runs`. */
export async function timeRuns(runs: number, warmup: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    await fn(i);
    const dt = performance.now() - t0;
    if (i >= warmup) out.push(dt);
  }
  return out;
}

/** One line: a name, its median and p95, and an optional note (an aim, a ratio). */
export function row(name: string, s: Stats, note = ""): string {
  const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1)).padStart(7);
  return `${name.padEnd(40)} median ${ms(s.median)} ms   p95 ${ms(s.p95)} ms${note ? `   ${note}` : ""}`;
}

/** MB/s (10^6 bytes a second) of `bytes` moved in `ms`. */
export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** An aim a figure is held to: at most, at least, or under a value, in a unit ("x", "%", " ms", " MiB"…). */
export interface Aim {
  op: "<=" | ">=" | "<";
  value: number;
  unit: string;
}

/** "1.23x (aim: <= 2x, met)": a figure and whether it meets its aim. */
export function aimNote(figure: number, aim: Aim): string {
  const met = aim.op === "<=" ? figure <= aim.value : aim.op === ">=" ? figure >= aim.value : figure < aim.value;
  const shown = aim.unit === "%" ? figure.toFixed(1) : figure.toFixed(2);
  return `${shown}${aim.unit} (aim: ${aim.op} ${aim.value}${aim.unit}, ${met ? "met" : "MISSED"})`;
}
