/**
 * The processes of a sandbox, as the bench finds them from outside: its record
 * (`<state>/sandboxes/<id>/pyro-sandbox.json`) names its cgroups and its launch, init and
 * network processes; its processes are those of its cgroups, or where it has none, those of
 * its pid namespace, plus the launch and network processes.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

interface RecordView {
  durable?: boolean;
  state?: string;
  cgroups?: string[];
  processes?: { launch?: { pid: number }; init?: { pid: number }; network?: { pid: number } };
}

/** A file's text, or undefined when it cannot be read (gone, not there). */
export function readText(path: string): string | undefined {
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

/** The processes of sandbox `id` now, and the directory of its memory cgroup (undefined without one). */
export function sandboxProcesses(stateDir: string, id: string): { pids: number[]; memoryCgroup: string | undefined } {
  const r = sandboxRecord(stateDir, id);
  const pids = new Set(r.cgroups?.length ? pidsOfCgroups(r.cgroups) : r.processes?.init ? pidsOfNamespace(r.processes.init.pid) : []);
  for (const p of [r.processes?.launch, r.processes?.network]) if (p && readText(`/proc/${p.pid}/stat`) !== undefined) pids.add(p.pid);
  // The memory hierarchy's directory is the one that has the memory controller's files.
  const memoryCgroup = r.cgroups?.find((d) => readText(join(d, "memory.usage_in_bytes")) !== undefined || readText(join(d, "memory.current")) !== undefined);
  return { pids: [...pids].sort((a, b) => a - b), memoryCgroup };
}
