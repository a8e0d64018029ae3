/**
 * What one sandbox costs in memory: the USS of every process of it (Private_Clean +
 * Private_Dirty + Private_Hugetlb of /proc/<pid>/smaps_rollup: the pages only it holds, which
 * ending it gives back) plus the kernel memory its cgroup is charged (memory.kmem.usage_in_bytes,
 * cgroup v1 only). Its processes are those of its cgroups, or where it has none, those of its
 * pid namespace, plus the launch and network processes its record names
 * (`<state>/sandboxes/<id>/pyro-sandbox.json`).
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** One sandbox's memory, in bytes. */
export interface SandboxMemory {
  sandboxId: string;
  /** Sum of the USS of its processes. */
  uss: number;
  /** Kernel memory its memory cgroup is charged; undefined where the host does not account it (cgroup v2, no cgroup). */
  kmem: number | undefined;
  /** Everything its memory cgroup is charged (pages, page cache, kernel); undefined without one. */
  cgroupUsage: number | undefined;
  /** The processes counted. */
  pids: number[];
}

interface RecordView {
  durable?: boolean;
  state?: string;
  cgroups?: string[];
  processes?: { launch?: { pid: number }; init?: { pid: number }; network?: { pid: number } };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The record of sandbox `id` in `stateDir`. */
export function sandboxRecord(stateDir: string, id: string): RecordView {
  const text = readText(join(stateDir, "sandboxes", id, "pyro-sandbox.json"));
  if (text === undefined) throw new Error(`sandbox ${id} has no record in ${stateDir}`);
  return JSON.parse(text) as RecordView;
}

/** Ids of the running sandboxes in `stateDir` that are not durable: the pool's (and one-shot runs under way). */
export function pooledSandboxIds(stateDir: string): string[] {
  const dir = join(stateDir, "sandboxes");
  return readdirSync(dir).filter((id) => {
    try {
      const r = sandboxRecord(stateDir, id);
      return r.durable === false && r.state === "running";
    } catch {
      return false;
    }
  });
}

/** USS of `pid` in bytes; 0 when it is gone. */
export function ussOf(pid: number): number {
  const text = readText(`/proc/${pid}/smaps_rollup`);
  if (text === undefined) return 0;
  let kb = 0;
  for (const m of text.matchAll(/^(Private_Clean|Private_Dirty|Private_Hugetlb):\s+(\d+) kB/gm)) kb += Number(m[2]);
  return kb * 1024;
}

function pidsOfCgroups(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    for (const line of (readText(join(dir, "cgroup.procs")) ?? "").split("\n")) if (line.trim()) pids.add(Number(line));
  }
  return [...pids];
}

function pidsOfNamespace(initPid: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** The memory of sandbox `id` of the manager whose state directory is `stateDir`. */
export function sandboxMemory(stateDir: string, id: string): SandboxMemory {
  const r = sandboxRecord(stateDir, id);
  const pids = new Set(r.cgroups?.length ? pidsOfCgroups(r.cgroups) : r.processes?.init ? pidsOfNamespace(r.processes.init.pid) : []);
  for (const p of [r.processes?.launch, r.processes?.network]) if (p && readText(`/proc/${p.pid}/stat`) !== undefined) pids.add(p.pid);
  if (pids.size === 0) throw new Error(`sandbox ${id} has no processes to measure`);
  // The memory hierarchy's directory is the one that has the memory controller's files.
  const memDir = r.cgroups?.find((d) => readText(join(d, "memory.usage_in_bytes")) !== undefined || readText(join(d, "memory.current")) !== undefined);
  const num = (path: string) => {
    const t = readText(path);
    return t === undefined ? undefined : Number(t.trim());
  };
  return {
    sandboxId: id,
    uss: [...pids].reduce((s, pid) => s + ussOf(pid), 0),
    kmem: memDir ? num(join(memDir, "memory.kmem.usage_in_bytes")) : undefined,
    cgroupUsage: memDir ? (num(join(memDir, "memory.usage_in_bytes")) ?? num(join(memDir, "memory.current"))) : undefined,
    pids: [...pids].sort((a, b) => a - b),
  };
}
