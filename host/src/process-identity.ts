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
