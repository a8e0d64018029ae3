/**
 * The record pyro writes into every sandbox directory it makes
 * (`<state>/sandboxes/<id>/pyro-sandbox.json`): whose sandbox it is, what it was made with,
 * which processes it lives in and how to reach its agent. It holds everything a later
 * manager needs to re-adopt the sandbox, or to end it and clean up after it, without the
 * manager that made it. It is replaced whole (temp file, fsync, rename, fsync of its
 * directory), never edited.
 *
 * A later manager touches a directory only when it holds such a record naming that very
 * directory, so a state directory shared with anything else (PYRO_STATE_DIR pointed at an
 * existing folder), or with another live manager, loses nothing pyro did not make.
 */
import { lstat, mkdir, open, rename, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import type { BackendName, SandboxSpec } from "./backends/backend.js";
import { ProcessIdentitySchema, self } from "./process-identity.js";

export const RECORD_FILE = "pyro-sandbox.json";
const RECORD_MAX_BYTES = 64 << 10;
/** Sandbox ids pyro makes (see leased-sandbox.ts); nothing else in sandboxes/ is ever deleted. */
export const SANDBOX_ID = /^sb-[0-9a-f]{10}$/;
/** The record format this version writes. */
export const RECORD_FORMAT = "pyro.sandbox/2";

const PathSchema = z.string().max(4096);
const LimitStateSchema = z.object({ value: z.number(), enforced: z.boolean(), detail: z.string().max(1000) });

/** The first format: a manager and, once running, one process. Still read, so an upgrade can clean up after its predecessor. */
const RecordV1Schema = z.object({
  format: z.literal("pyro.sandbox/1"),
  id: z.string().regex(SANDBOX_ID),
  manager: ProcessIdentitySchema,
  process: ProcessIdentitySchema.optional(),
});

const RecordV2Schema = z.object({
  format: z.literal(RECORD_FORMAT),
  id: z.string().regex(SANDBOX_ID),
  /** The manager that owns it: the one that made it, or the last one to re-adopt it. */
  manager: ProcessIdentitySchema,
  backend: z.enum(["namespace", "host", "firecracker"]),
  /** Its directory: the record counts only inside the directory it names. */
  dir: PathSchema,
  environment: z.object({
    name: z.string().max(200),
    /** The root filesystem it runs on ("" for backends that use the host's). */
    rootfs: PathSchema,
    /** The environment copy it holds a lease on, if any (see environments/copy-users.ts). */
    copy: PathSchema.optional(),
  }),
  network: z.boolean(),
  resources: z.object({ vcpuCount: z.number().int(), memMib: z.number().int(), diskMib: z.number().int(), pidsMax: z.number().int() }),
  /** Kept across stops and manager restarts; otherwise ended by the next manager. */
  durable: z.boolean(),
  /** "starting" until its processes are known and its agent answered; "stopped": no processes, files kept. */
  state: z.enum(["starting", "running", "stopped"]),
  /** Its processes while it runs: the launched process, its pid namespace's init, its network helper. */
  processes: z.object({
    launch: ProcessIdentitySchema.optional(),
    init: ProcessIdentitySchema.optional(),
    network: ProcessIdentitySchema.optional(),
  }),
  /** How to reach its agent: a Unix socket the manager binds (never one the sandbox could replace). */
  agent: z.object({ socket: PathSchema }).optional(),
  /** The limits in force while it runs. */
  limits: z.object({ vcpuCount: LimitStateSchema, memMib: LimitStateSchema, diskMib: LimitStateSchema, pids: LimitStateSchema }).optional(),
  /** The seccomp filter's label, when it runs under one. */
  seccomp: z.string().max(200).optional(),
  /** Its cgroup directories while it runs, when it has any. */
  cgroups: z.array(PathSchema).max(8).optional(),
});

/** What a sandbox directory's record says. */
export type SandboxRecord = z.infer<typeof RecordV2Schema>;
/** A record of the first format. */
export type LegacySandboxRecord = z.infer<typeof RecordV1Schema>;

const AnyRecordSchema = z.discriminatedUnion("format", [RecordV1Schema, RecordV2Schema]);

/** The record of a sandbox about to be made from `spec` by this manager. */
export async function newSandboxRecord(spec: SandboxSpec, backend: BackendName): Promise<SandboxRecord> {
  return {
    format: RECORD_FORMAT,
    id: spec.id,
    manager: await self(),
    backend,
    dir: spec.dir,
    environment: { name: spec.environment.name, rootfs: spec.environment.rootfs, ...(spec.environment.copy ? { copy: spec.environment.copy } : {}) },
    network: spec.network,
    resources: spec.resources,
    durable: spec.durable,
    state: "starting",
    processes: {},
  };
}

/** Creates the sandbox directory `record.dir` (which must not exist) with its first record. */
export async function createSandboxDir(record: SandboxRecord | LegacySandboxRecord, dir = (record as SandboxRecord).dir): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  await writeRecordFile(dir, record);
}

/** Replaces the record in its directory whole: temp file, fsync, rename. */
export async function writeSandboxRecord(record: SandboxRecord): Promise<void> {
  await writeRecordFile(record.dir, RecordV2Schema.parse(record));
}

async function writeRecordFile(dir: string, record: SandboxRecord | LegacySandboxRecord): Promise<void> {
  const tmp = join(dir, `.${RECORD_FILE}.${randomBytes(4).toString("hex")}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(JSON.stringify(AnyRecordSchema.parse(record)));
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, join(dir, RECORD_FILE));
  // The rename itself reaches the disk only with its directory.
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * The record in `dir`, or undefined when there is none pyro could have written there: no
 * file, a link, too large, not a record, or one naming another directory or id.
 */
export async function readSandboxRecord(dir: string, id: string): Promise<SandboxRecord | LegacySandboxRecord | undefined> {
  const path = join(dir, RECORD_FILE);
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile() || st.size > RECORD_MAX_BYTES) return undefined;
  let parsed: SandboxRecord | LegacySandboxRecord;
  try {
    const fh = await open(path, "r");
    try {
      const r = AnyRecordSchema.safeParse(JSON.parse(await fh.readFile("utf8")));
      if (!r.success) return undefined;
      parsed = r.data;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  if (parsed.id !== id) return undefined;
  if (parsed.format === RECORD_FORMAT && parsed.dir !== dir) return undefined;
  return parsed;
}

/** True for a record of the current format. */
export function isCurrentRecord(r: SandboxRecord | LegacySandboxRecord): r is SandboxRecord {
  return r.format === RECORD_FORMAT;
}
