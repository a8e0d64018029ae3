/**
 * What a manager's sandboxes leave on the host, seen from outside: their processes (by pid
 * and start time, so a reused pid is not mistaken for one), slirp4netns helpers, loop
 * devices whose image lies under the state directory, sandbox cgroups (`pyro/sb-*` below
 * the manager's cgroup in each hierarchy) and sandbox directories. Only what belongs to
 * this state directory counts: other managers may share the host and its cgroups.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { detectCgroups } from "../../host/src/backends/namespace/cgroups.js";

/** A process, identified across pid reuse by its start time. */
export interface Proc {
  pid: number;
  ppid: number;
  start: string;
  comm: string;
  state: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    return { pid, comm: stat.slice(stat.indexOf("(") + 1, close), state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return undefined;
  }
}

/** Every process of the host now. */
export function processTable(): Proc[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map((n) => readProc(Number(n)))
    .filter((p): p is Proc => p !== undefined);
}

/** The processes below `root` (not `root` itself). */
export function descendants(root: number, table = processTable()): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** Those of `procs` that still run: same pid, same start time, not a zombie. */
export function stillRunning(procs: Proc[]): Proc[] {
  return procs.filter((p) => {
    const now = readProc(p.pid);
    return now !== undefined && now.start === p.start && now.state !== "Z";
  });
}

/** A sandbox's id from a path under `<state>/sandboxes/`. */
function sandboxIdIn(path: string, stateDir: string): string | undefined {
  const prefix = join(stateDir, "sandboxes") + "/";
  return path.startsWith(prefix) ? path.slice(prefix.length).split("/")[0] : undefined;
}

/** Loop devices whose image lies under `stateDir`: device and backing file. */
export function loopDevices(stateDir: string): { device: string; file: string; sandbox?: string }[] {
  let out = "";
  try {
    out = execFileSync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"], { encoding: "utf8" });
  } catch {
    return [];
  }
  return out
    .split("\n")
    .map((line) => {
      const space = line.indexOf(" ");
      // BACK-FILE is raw-escaped (\x20 for a space); a deleted file ends in " (deleted)".
      return { device: line.slice(0, space), file: line.slice(space + 1).replace(/\\x20/g, " ") };
    })
    .filter((l) => l.file.startsWith(stateDir + "/"))
    .map((l) => ({ ...l, sandbox: sandboxIdIn(l.file, stateDir) }));
}

/** The directories sandbox cgroups are made in (one per v1 hierarchy, or the v2 one), or none where this host has none. */
export async function sandboxCgroupParents(): Promise<string[]> {
  const support = await detectCgroups().catch(() => ({ version: 0 as const }));
  if (support.version === 1) return [...new Set(Object.values(support.parents))];
  if (support.version === 2) return [support.parent];
  return [];
}

/** Sandbox cgroup directories named after one of `ids`. */
export function sandboxCgroups(parents: string[], ids: Set<string>): string[] {
  const out: string[] = [];
  for (const parent of parents) {
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) if (ids.has(name)) out.push(join(parent, name));
  }
  return out;
}

/** The pids in a cgroup directory. */
function cgroupMembers(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
  } catch {
    return [];
  }
}

/** The sandbox directories under `<stateDir>/sandboxes` now. */
export function sandboxDirs(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, "sandboxes")).filter((n) => n.startsWith("sb-"));
  } catch {
    return [];
  }
}

/** Records every sandbox id that appears in a state directory while it runs (they live for well under a second). */
export class SandboxIdWatcher {
  readonly ids = new Set<string>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly stateDir: string, everyMs = 50) {
    this.#timer = setInterval(() => this.poll(), everyMs);
    this.poll();
  }

  /** Adds the ids present now (also ids learnt elsewhere, e.g. from results). */
  poll(extra: Iterable<string> = []): void {
    for (const id of sandboxDirs(this.stateDir)) this.ids.add(id);
    for (const id of extra) if (id) this.ids.add(id);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** What a manager's sandboxes have on the host at one moment. */
export interface Traces {
  processes: Proc[];
  slirp: Proc[];
  loops: { device: string; file: string; sandbox?: string }[];
  cgroups: string[];
  dirs: string[];
}

/** The traces of a manager's sandboxes: its descendants, and what belongs to `ids` under `stateDir`. */
export function traces(o: { managerPid: number; stateDir: string; parents: string[]; ids: Set<string> }): Traces {
  const processes = descendants(o.managerPid);
  return {
    processes,
    slirp: processes.filter((p) => p.comm === "slirp4netns"),
    loops: loopDevices(o.stateDir),
    cgroups: sandboxCgroups(o.parents, o.ids),
    dirs: sandboxDirs(o.stateDir),
  };
}

/**
 * Which of `before` (taken while its manager ran) are still on the host after that manager
 * was killed: processes still running, loop devices still attached, cgroups and directories
 * still there.
 */
export function leftAfterKill(before: Traces, o: { stateDir: string; parents: string[]; ids: Set<string> }): Traces {
  const oldIds = new Set([...before.dirs, ...o.ids]);
  const cgroups = sandboxCgroups(o.parents, oldIds);
  // Also what was launched after the snapshot: every sandbox process is in its cgroup from the start.
  const known = new Set(before.processes.map((p) => p.pid));
  const members = [...new Set(cgroups.flatMap((c) => cgroupMembers(c)))].filter((pid) => !known.has(pid));
  const processes = [...stillRunning(before.processes), ...members.map(readProc).filter((p): p is Proc => p !== undefined && p.state !== "Z")];
  return {
    processes,
    slirp: processes.filter((p) => p.comm === "slirp4netns"),
    // By image, not by device: a new sandbox may get the same device number.
    loops: loopDevices(o.stateDir).filter((l) => l.sandbox !== undefined && oldIds.has(l.sandbox)),
    cgroups,
    dirs: sandboxDirs(o.stateDir).filter((d) => oldIds.has(d)),
  };
}

/** One line per kind of trace, e.g. "processes 0, slirp4netns 0, loop devices 0, cgroups 0, sandbox dirs 0". */
export function describeTraces(t: Traces): string {
  return `processes ${t.processes.length}, slirp4netns ${t.slirp.length}, loop devices ${t.loops.length}, cgroups ${t.cgroups.length}, sandbox dirs ${t.dirs.length}`;
}

/** The individual traces, for a leak report. */
export function listTraces(t: Traces): string[] {
  return [
    ...t.processes.map((p) => `process ${p.pid} (${p.comm}, state ${p.state}, started at tick ${p.start})`),
    ...t.loops.map((l) => `loop device ${l.device} on ${l.file}`),
    ...t.cgroups.map((c) => `cgroup ${c}`),
    ...t.dirs.map((d) => `sandbox dir ${d}`),
  ];
}
