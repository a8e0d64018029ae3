/**
 * Where a workspace's creation spends its time, read from the manager's debug log (the bench
 * runs its manager with PYRO_DEBUG=1): the steps a namespace sandbox logs as it starts, between
 * the moment the client called and the moment it had its answer. Both clocks are this host's
 * wall clock, in milliseconds.
 */
import { readFileSync } from "node:fs";

/** One creation as the client saw it: its sandbox, and when (Date.now()) it called and got the answer. */
export interface CreateTiming {
  sandboxId: string;
  calledAt: number;
  answeredAt: number;
}

/** The stretches of a creation, in the order they happen. */
export const CREATE_STAGES = [
  ["before the sandbox (request, record, baseline)", "called", "runtime"],
  ["cgroup (runtime, limits)", "runtime", "layout"],
  ["layout, disk image, agent socket", "layout", "spawn"],
  ["launch until its pid is recorded", "spawn", "agent-ready"],
  ["until its agent answers", "agent-ready", "started"],
  ["after (record, answer to the client)", "started", "answered"],
] as const;

/** Milliseconds of each stage of each creation found in the log at `logPath`; creations whose steps are missing are left out. */
export function createStages(logPath: string, creates: CreateTiming[]): Map<string, number[]> {
  const at = new Map<string, Map<string, number>>();
  let text = "";
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return new Map();
  }
  for (const line of text.split("\n")) {
    if (!line.includes('"sandbox st')) continue;
    let e: { time?: string; msg?: string; sandbox?: string; step?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (!e.sandbox || !e.time) continue;
    const name = e.msg === "sandbox step" ? e.step : e.msg === "sandbox started" ? "started" : undefined;
    if (!name) continue;
    let m = at.get(e.sandbox);
    if (!m) at.set(e.sandbox, (m = new Map()));
    if (!m.has(name)) m.set(name, Date.parse(e.time));
  }
  const out = new Map<string, number[]>(CREATE_STAGES.map(([label]) => [label, []]));
  for (const c of creates) {
    const m = at.get(c.sandboxId);
    if (!m) continue;
    const t = (name: string) => (name === "called" ? c.calledAt : name === "answered" ? c.answeredAt : m.get(name));
    if (CREATE_STAGES.some(([, from, to]) => t(from) === undefined || t(to) === undefined)) continue;
    for (const [label, from, to] of CREATE_STAGES) out.get(label)!.push(t(to)! - t(from)!);
  }
  return out;
}
