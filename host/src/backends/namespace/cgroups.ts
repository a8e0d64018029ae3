/**
 * Resource limits for namespace sandboxes through cgroups: memory (swap included where the
 * host accounts it), processes, and CPU time from vcpu_count. cgroup v2 where the host has
 * its controllers, v1 where they are what exists (hybrid hosts mount v1 controllers and
 * leave v2 empty). Each sandbox gets a cgroup of its own below the manager's, which the
 * sandbox's setup stage joins before it starts anything, so every process of the sandbox
 * is in it from the start. A host where the manager cannot make cgroups says so, and the
 * limits are reported as not enforced, never pretended.
 */
import { access, constants, mkdir, readdir, readFile, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import type { Resources } from "../resources.js";

const CONTROLLERS = ["memory", "pids", "cpu"] as const;
type Controller = (typeof CONTROLLERS)[number];
const CPU_PERIOD_US = 100_000;

/** Where this host lets the manager make sandbox cgroups, or why it does not. */
export type CgroupSupport =
  | { version: 1; parents: Record<Controller, string>; detail: string }
  | { version: 2; parent: string; detail: string }
  | { version: 0; reason: string };

/** The sources detection reads; tests give fakes. */
export interface CgroupHostFiles {
  mountinfo: string;
  /** /proc/self/cgroup */
  selfCgroup: string;
}

interface Mount {
  point: string;
  fstype: string;
  superOptions: string[];
}

function parseMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const point = left.split(" ")[4];
    const [fstype, , superOptions] = right.split(" ");
    if (point && fstype) mounts.push({ point: point.replace(/\\040/g, " "), fstype, superOptions: (superOptions ?? "").split(",") });
  }
  return mounts;
}

/** /proc/self/cgroup as hierarchy → path: "memory" → "/a/b" for v1 lines, "" → path for the v2 line. */
function parseSelfCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const name of m[1]!.split(",")) paths.set(name, m[2]!);
  }
  return paths;
}

async function writable(dir: string): Promise<boolean> {
  return access(dir, constants.W_OK).then(() => true, () => false);
}

/** Finds where sandbox cgroups can be made: below the manager's own cgroup, in `pyro/`. */
export async function detectCgroups(files?: CgroupHostFiles): Promise<CgroupSupport> {
  const src = files ?? { mountinfo: await readFile("/proc/self/mountinfo", "utf8"), selfCgroup: await readFile("/proc/self/cgroup", "utf8") };
  const mounts = parseMounts(src.mountinfo);
  const self = parseSelfCgroup(src.selfCgroup);

  const v1: Partial<Record<Controller, string>> = {};
  for (const c of CONTROLLERS) {
    const m = mounts.find((x) => x.fstype === "cgroup" && x.superOptions.includes(c));
    const path = self.get(c);
    if (m && path !== undefined) v1[c] = join(m.point, path);
  }
  if (CONTROLLERS.every((c) => v1[c] !== undefined)) {
    const own = v1 as Record<Controller, string>;
    for (const c of CONTROLLERS) {
      if (!(await writable(own[c]))) return { version: 0, reason: `cgroup v1 ${c} (${own[c]}) is not writable by the manager; run it as root` };
    }
    const parents = Object.fromEntries(CONTROLLERS.map((c) => [c, join(own[c], "pyro")])) as Record<Controller, string>;
    return { version: 1, parents, detail: "cgroup v1 (memory, pids, cpu)" };
  }

  const unified = mounts.find((x) => x.fstype === "cgroup2");
  if (unified) {
    const available = (await readFile(join(unified.point, "cgroup.controllers"), "utf8").catch(() => "")).trim().split(/\s+/);
    const missing = CONTROLLERS.filter((c) => !available.includes(c));
    if (missing.length > 0) return { version: 0, reason: `the cgroup v2 hierarchy has no ${missing.join(", ")} controller (held by cgroup v1 or disabled)` };
    // Root makes a top-level pyro/ (as container engines do); a delegated subtree for
    // ordinary users would need the manager moved into a leaf cgroup first: not done yet.
    if (!(await writable(unified.point))) return { version: 0, reason: "cgroup v2 is not writable by the manager; run it as root" };
    return { version: 2, parent: join(unified.point, "pyro"), detail: "cgroup v2 (memory, pids, cpu)" };
  }
  return { version: 0, reason: "no cgroup hierarchy with memory, pids and cpu controllers is mounted" };
}

/** One sandbox's cgroup (one directory per v1 hierarchy, one in all for v2). */
export interface SandboxCgroup {
  /** Its directories (one per hierarchy), for the sandbox's record. */
  dirs: string[];
  /** The cgroup.procs files the setup stage writes its pid to. */
  procsFiles: string[];
  /** How it is enforced, for the limits report. */
  detail: string;
  /** How many times the kernel's OOM killer ended a process of the sandbox. */
  oomKills(): Promise<number>;
  /** Whether a fork or clone was refused at the process limit. */
  pidsLimitHit(): Promise<boolean>;
  /** Ends whatever of the sandbox is still in the cgroup, then removes it (waiting while the kernel reaps). */
  remove(): Promise<void>;
}

/** A counter from a flat-keyed cgroup file ("oom_kill 3"), 0 when missing. */
async function counter(file: string, key: string): Promise<number> {
  const text = await readFile(file, "utf8").catch(() => "");
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/**
 * Ends every process still in the cgroups `dirs` (a sandbox's, being destroyed: whatever
 * is in them is the sandbox's) and removes them, waiting while the kernel reaps. Returns how
 * many processes it ended.
 */
async function endCgroups(dirs: string[]): Promise<number> {
  const ended = new Set<number>();
  for (let attempt = 0; attempt < 250; attempt++) {
    const pids = new Set<number>();
    for (const dir of dirs) {
      const procs = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
      for (const line of procs.split("\n")) if (/^\d+$/.test(line)) pids.add(Number(line));
    }
    if (pids.size === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        ended.add(pid);
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await removeDirs(dirs);
  return ended.size;
}

async function removeDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        if (code !== "EBUSY" || attempt >= 250) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** Makes the cgroup of sandbox `id` with `r`'s memory, process and CPU limits. */
export async function createSandboxCgroup(support: Exclude<CgroupSupport, { version: 0 }>, id: string, r: Resources): Promise<SandboxCgroup> {
  const memBytes = String(r.memMib * 1024 * 1024);
  if (support.version === 1) {
    const dirs = { memory: join(support.parents.memory, id), pids: join(support.parents.pids, id), cpu: join(support.parents.cpu, id) };
    const unique = [...new Set(Object.values(dirs))];
    try {
      for (const dir of unique) await mkdir(dir, { recursive: true });
      await writeFile(join(dirs.memory, "memory.limit_in_bytes"), memBytes);
      // Without this a sandbox would swap past its limit where the host accounts swap.
      const memsw = join(dirs.memory, "memory.memsw.limit_in_bytes");
      if (await exists(memsw)) await writeFile(memsw, memBytes);
      await writeFile(join(dirs.pids, "pids.max"), String(r.pidsMax));
      await writeFile(join(dirs.cpu, "cpu.cfs_period_us"), String(CPU_PERIOD_US));
      await writeFile(join(dirs.cpu, "cpu.cfs_quota_us"), String(r.vcpuCount * CPU_PERIOD_US));
    } catch (err) {
      await removeDirs(unique).catch(() => {});
      throw err;
    }
    return {
      dirs: unique,
      procsFiles: unique.map((d) => join(d, "cgroup.procs")),
      detail: support.detail,
      oomKills: () => counter(join(dirs.memory, "memory.oom_control"), "oom_kill"),
      pidsLimitHit: async () => (await counter(join(dirs.pids, "pids.events"), "max")) > 0,
      remove: async () => void (await endCgroups(unique)),
    };
  }
  const dir = join(support.parent, id);
  await mkdir(support.parent, { recursive: true });
  // Controllers reach a child only when its parent hands them down.
  await writeFile(join(support.parent, "..", "cgroup.subtree_control"), "+memory +pids +cpu").catch(() => {});
  await writeFile(join(support.parent, "cgroup.subtree_control"), "+memory +pids +cpu");
  await mkdir(dir);
  try {
    await writeFile(join(dir, "memory.max"), memBytes);
    if (await exists(join(dir, "memory.swap.max"))) await writeFile(join(dir, "memory.swap.max"), "0");
    await writeFile(join(dir, "pids.max"), String(r.pidsMax));
    await writeFile(join(dir, "cpu.max"), `${r.vcpuCount * CPU_PERIOD_US} ${CPU_PERIOD_US}`);
  } catch (err) {
    await removeDirs([dir]).catch(() => {});
    throw err;
  }
  return {
    dirs: [dir],
    procsFiles: [join(dir, "cgroup.procs")],
    detail: support.detail,
    oomKills: () => counter(join(dir, "memory.events"), "oom_kill"),
    pidsLimitHit: async () => (await counter(join(dir, "pids.events"), "max")) > 0,
    remove: async () => void (await endCgroups([dir])),
  };
}

/** sandbox `id`'s cgroup directories on this host, as createSandboxCgroup makes them. */
export function sandboxCgroupDirs(support: Exclude<CgroupSupport, { version: 0 }>, id: string): string[] {
  if (!/^sb-[0-9a-f]+$/.test(id)) throw new Error(`not a sandbox id: ${JSON.stringify(id)}`);
  return support.version === 1 ? [...new Set(Object.values(support.parents))].map((p) => join(p, id)) : [join(support.parent, id)];
}

/**
 * Ends every process still in sandbox `id`'s cgroups, then removes them; returns how many
 * processes it ended. Only for sandboxes this manager owns: those in its own state
 * directory, being destroyed or cleaned up after. A launch cut off by a manager's kill can
 * leave bubblewrap's sandbox init waiting forever for a parent that is gone, alone in its
 * cgroup, which no sweep would then ever remove.
 */
export async function endSandboxCgroup(support: Exclude<CgroupSupport, { version: 0 }>, id: string): Promise<number> {
  return endCgroups(sandboxCgroupDirs(support, id));
}

/**
 * Directories a sandbox record names as `id`'s cgroups, when they are what pyro makes: absolute
 * paths under /sys/fs/cgroup ending in `pyro/<id>`. Anything else is left out (and alone).
 */
export function recordedCgroupDirs(dirs: string[], id: string): string[] {
  return dirs.filter((d) => isAbsolute(d) && normalize(d) === d && d.startsWith("/sys/fs/cgroup/") && basename(d) === id && basename(dirname(d)) === "pyro");
}

/** Ends what is in the recorded cgroups `dirs` of sandbox `id` and removes them (see endSandboxCgroup). */
export async function endRecordedCgroups(dirs: string[], id: string): Promise<number> {
  return endCgroups(recordedCgroupDirs(dirs, id));
}

/** The cgroup of a running sandbox made by an earlier manager, from the directories its record names. */
export function adoptSandboxCgroup(dirs: string[], id: string, detail: string): SandboxCgroup {
  const own = recordedCgroupDirs(dirs, id);
  const first = async (file: string, key: string) => {
    for (const d of own) {
      if (await exists(join(d, file))) return counter(join(d, file), key);
    }
    return 0;
  };
  return {
    dirs: own,
    procsFiles: own.map((d) => join(d, "cgroup.procs")),
    detail,
    oomKills: async () => (await first("memory.oom_control", "oom_kill")) || (await first("memory.events", "oom_kill")),
    pidsLimitHit: async () => (await first("pids.events", "max")) > 0,
    remove: async () => void (await endCgroups(own)),
  };
}

/** How old an empty sandbox cgroup must be before it counts as left behind (a new one is joined within milliseconds). */
const STALE_AFTER_MS = 10_000;

/**
 * Removes sandbox cgroups a killed manager left behind: empty ones (the kernel refuses to
 * remove any other) that are not brand new, so another manager's sandbox that is about to
 * join its cgroup keeps it. Returns how many were removed.
 */
export async function removeStaleCgroups(support: Exclude<CgroupSupport, { version: 0 }>, now = Date.now()): Promise<number> {
  const parents = support.version === 1 ? [...new Set(Object.values(support.parents))] : [support.parent];
  let removed = 0;
  for (const parent of parents) {
    const names = await readdir(parent).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith("sb-"))) {
      const dir = join(parent, name);
      const procs = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "x");
      const born = await stat(dir).then((s) => s.ctimeMs, () => now);
      if (procs.trim() !== "" || now - born < STALE_AFTER_MS) continue;
      if (await rmdir(dir).then(() => true, () => false)) removed++;
    }
  }
  return removed;
}
