/**
 * What one sandbox costs in memory: the USS of every process of it (Private_Clean +
 * Private_Dirty + Private_Hugetlb of /proc/<pid>/smaps_rollup: the pages only it holds, which
 * ending it gives back) plus the kernel memory its cgroup is charged (memory.kmem.usage_in_bytes,
 * cgroup v1 only). Its processes are found as sandbox-processes.ts says.
 */
import { join } from "node:path";
import { readText, sandboxProcesses } from "./sandbox-processes.js";

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

/** USS of `pid` in bytes; 0 when it is gone. */
export function ussOf(pid: number): number {
  const text = readText(`/proc/${pid}/smaps_rollup`);
  if (text === undefined) return 0;
  let kb = 0;
  for (const m of text.matchAll(/^(Private_Clean|Private_Dirty|Private_Hugetlb):\s+(\d+) kB/gm)) kb += Number(m[2]);
  return kb * 1024;
}

/** The memory of sandbox `id` of the manager whose state directory is `stateDir`. */
export function sandboxMemory(stateDir: string, id: string): SandboxMemory {
  const { pids, memoryCgroup } = sandboxProcesses(stateDir, id);
  if (pids.length === 0) throw new Error(`sandbox ${id} has no processes to measure`);
  const num = (path: string) => {
    const t = readText(path);
    return t === undefined ? undefined : Number(t.trim());
  };
  return {
    sandboxId: id,
    uss: pids.reduce((s, pid) => s + ussOf(pid), 0),
    kmem: memoryCgroup ? num(join(memoryCgroup, "memory.kmem.usage_in_bytes")) : undefined,
    cgroupUsage: memoryCgroup ? (num(join(memoryCgroup, "memory.usage_in_bytes")) ?? num(join(memoryCgroup, "memory.current"))) : undefined,
    pids,
  };
}
