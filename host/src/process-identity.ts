/**
 * Naming a process so that the name cannot be inherited: a pid alone is reused, so a
 * process is its pid plus the start time the kernel reports in /proc/<pid>/stat, plus the
 * boot it started in (start times count from boot) and the pid namespace the pid is read in.
 * Leases on environments and sandbox records use it to tell "still running" from "gone".
 */
import { readFile } from "node:fs/promises";
import { readFileSync, readlinkSync } from "node:fs";
import { z } from "zod";

export const ProcessIdentitySchema = z.object({
  pid: z.number().int().positive(),
  /** Field 22 of /proc/<pid>/stat: clock ticks since boot, as text (it can pass 2^53). */
  start: z.string().regex(/^\d{1,20}$/),
  /** /proc/sys/kernel/random/boot_id of the boot it ran in. */
  boot: z.string().max(64),
  /** The pid namespace the pid belongs to, e.g. "pid:[4026531836]". */
  pidNs: z.string().max(64),
});

/** A process, named so that a later process with the same pid is not mistaken for it. */
export type ProcessIdentity = z.infer<typeof ProcessIdentitySchema>;

let ours: { boot: string; pidNs: string } | undefined;
function host(): { boot: string; pidNs: string } {
  ours ??= { boot: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(), pidNs: readlinkSync("/proc/self/ns/pid") };
  return ours;
}

/** The start time and state of `pid` from /proc, or undefined when there is no such process. */
async function statOf(pid: number): Promise<{ start: string; state: string } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const start = fields[19];
  if (!state || !start || !/^\d+$/.test(start)) return undefined;
  return { start, state };
}

/** The identity of the running process `pid`, or undefined when it does not exist. */
export async function identify(pid: number): Promise<ProcessIdentity | undefined> {
  const s = await statOf(pid);
  return s ? { pid, start: s.start, ...host() } : undefined;
}

/** This process's identity. */
export async function self(): Promise<ProcessIdentity> {
  const id = await identify(process.pid);
  if (!id) throw new Error("cannot read /proc/self/stat");
  return id;
}

/**
 * False only when the process is provably gone: another boot, no such pid, another start
 * time, or a zombie. A process named in another pid namespace cannot be checked from here,
 * so it counts as running.
 */
export async function isRunning(id: ProcessIdentity): Promise<boolean> {
  const h = host();
  if (id.boot !== h.boot) return false;
  if (id.pidNs !== h.pidNs) return true;
  const s = await statOf(id.pid);
  return !!s && s.start === id.start && s.state !== "Z" && s.state !== "X";
}

/** isRunning, synchronously: for checks on a hot path (a sandbox's `alive()`), one small /proc read. */
export function isRunningSync(id: ProcessIdentity): boolean {
  const h = host();
  if (id.boot !== h.boot) return false;
  if (id.pidNs !== h.pidNs) return true;
  let text: string;
  try {
    text = readFileSync(`/proc/${id.pid}/stat`, "utf8");
  } catch {
    return false;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return fields[19] === id.start && fields[0] !== "Z" && fields[0] !== "X";
}

/** True when `id` names a process of this boot and pid namespace, so whether it runs can be proven either way. */
export function checkable(id: ProcessIdentity): boolean {
  const h = host();
  return id.boot !== h.boot || id.pidNs === h.pidNs;
}

/**
 * Sends `signal` to the process `id` names, only if it is still that process (same pid and
 * start time): a bare pid may have been reused. Returns whether it was sent.
 */
export function killIdentified(id: ProcessIdentity, signal: NodeJS.Signals = "SIGKILL"): boolean {
  if (!checkable(id) || !isRunningSync(id)) return false;
  try {
    process.kill(id.pid, signal);
    return true;
  } catch {
    return false; // gone meanwhile
  }
}

/** Resolves once none of `ids` runs, or with false after `timeoutMs`. */
export async function waitGone(ids: ProcessIdentity[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!ids.some((id) => checkable(id) && isRunningSync(id))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
