/** The stress script's bookkeeping: each run's kind, latency and verdict; percentiles and the tables it prints. */

export interface RunRecord {
  phase: string;
  kind: string;
  ms: number;
  /** Set when the outcome was not what it must be: what was expected, and what came. */
  failure?: { expected: string; got: string };
}

/** The `q` quantile (nearest rank) of `values`. */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const ms = (v: number) => (Number.isNaN(v) ? "-" : `${v.toFixed(0)} ms`);

/** Per kind (in first-seen order) and overall: runs, unexpected outcomes, p50 and p95. */
export function latencyTable(records: RunRecord[]): string[] {
  const kinds = [...new Set(records.map((r) => r.kind))];
  const width = Math.max(12, ...kinds.map((k) => k.length)) + 2;
  const row = (name: string, rs: RunRecord[]) =>
    `  ${name.padEnd(width)}${String(rs.length).padStart(6)}${String(rs.filter((r) => r.failure).length).padStart(10)}${ms(quantile(rs.map((r) => r.ms), 0.5)).padStart(11)}${ms(quantile(rs.map((r) => r.ms), 0.95)).padStart(11)}`;
  return [
    `  ${"kind".padEnd(width)}${"runs".padStart(6)}${"failures".padStart(10)}${"p50".padStart(11)}${"p95".padStart(11)}`,
    ...kinds.map((k) => row(k, records.filter((r) => r.kind === k))),
    row("all", records),
  ];
}

/** Unexpected outcomes grouped by phase and kind, with up to `examples` distinct ones each. */
export function failureTable(records: RunRecord[], examples = 3): string[] {
  const failed = records.filter((r) => r.failure);
  if (failed.length === 0) return ["  none"];
  const groups = new Map<string, RunRecord[]>();
  for (const r of failed) groups.set(`${r.phase} / ${r.kind}`, [...(groups.get(`${r.phase} / ${r.kind}`) ?? []), r]);
  const lines: string[] = [];
  for (const [key, rs] of groups) {
    lines.push(`  ${key}: ${rs.length} unexpected, expected ${rs[0]!.failure!.expected}`);
    for (const got of [...new Set(rs.map((r) => r.failure!.got))].slice(0, examples)) lines.push(`      got ${got}`);
  }
  return lines;
}
