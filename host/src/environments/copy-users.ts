/**
 * Who uses an installed environment copy. Every sandbox made from a copy registers in
 * `<copy>/users/<sandbox>.json`, naming what its use lasts as long as: a process whose life
 * is the sandbox's (see process-identity.ts), or, for a durable sandbox (which keeps its
 * files while stopped, across manager restarts, and whose writable layer refers to the
 * copy), the sandbox's record file. The registration holds while that process runs or that
 * record exists, whichever manager made it, and lapses by itself once it is gone — no
 * manager has to survive to release it.
 *
 * Removing a copy is a handshake, so that neither side needs the other's lock:
 *   remover (holding the environment's lock): mark `users/.removing` → read the users →
 *     any live one: unmark, keep → else rename the copy aside and delete it;
 *   user: write its registration → is the mark there? back off → is the copy still there?
 *     else back off.
 * Whichever writes second sees the other's write, so a copy is never removed under a user
 * who went on to use it. The copy is never moved while a user is registered: a sandbox
 * being made reaches its rootfs by path, and a path that vanished for a moment would fail it.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { isRunning, ProcessIdentitySchema, type ProcessIdentity } from "../process-identity.js";

/** The registrations' directory inside a copy. */
export const USERS_DIR = "users";
const MARK = ".removing";
const REGISTRATION_MAX_BYTES = 4096;

const RegistrationSchema = z
  .object({
    sandbox: z.string(),
    holder: ProcessIdentitySchema.optional(),
    /** A sandbox record file (sandbox-record.ts): the use lasts while it exists and names this sandbox. */
    record: z.string().max(4096).optional(),
  })
  .refine((r) => (r.holder === undefined) !== (r.record === undefined), "a registration names a process or a record");

/** What a registration lasts as long as: a process, or a sandbox record file. */
export type Holder = ProcessIdentity | { record: string };

const isRecordHolder = (h: Holder): h is { record: string } => "record" in h;

/** A sandbox's registration as a user of one copy. */
export interface Registration {
  readonly copyDir: string;
  readonly sandbox: string;
  /** Names what the registration follows from now on (e.g. the sandbox's own process, once started, or its record). */
  holdBy(holder: Holder): Promise<void>;
  /** Ends the registration. Safe to call twice. */
  release(): Promise<void>;
}

/** A user that keeps a copy: its sandbox, or why an unreadable registration counts as one. */
export interface LiveUser {
  sandbox: string;
  holder?: ProcessIdentity;
  /** The record of a durable sandbox that holds it. */
  record?: string;
}

function checkName(sandbox: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(sandbox)) throw new Error(`bad sandbox id ${JSON.stringify(sandbox)}`);
}

/** Writes `data` to `path` whole or not at all (temp file in the same directory, then rename). */
async function writeAtomic(dir: string, name: string, data: string): Promise<void> {
  const tmp = join(dir, `.tmp-${randomBytes(6).toString("hex")}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return false;
    throw err;
  }
}

/**
 * Registers `sandbox` as a user of the copy at `copyDir`, held by `holder`. "removing" when a
 * removal is under way (or a crashed one left its mark), "gone" when the copy is no longer there.
 */
export async function register(copyDir: string, sandbox: string, holder: Holder): Promise<Registration | "removing" | "gone"> {
  checkName(sandbox);
  const users = join(copyDir, USERS_DIR);
  const name = `${sandbox}.json`;
  const write = (h: Holder) => writeAtomic(users, name, JSON.stringify(isRecordHolder(h) ? { sandbox, record: h.record } : { sandbox, holder: h }));
  try {
    await write(holder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw err;
  }
  // In this order: the mark first, then the copy (see the module comment).
  const outcome = (await exists(join(users, MARK))) ? "removing" : !(await exists(users)) ? "gone" : undefined;
  if (outcome) {
    await unlink(join(users, name)).catch(() => {});
    return outcome;
  }
  return registration(copyDir, sandbox, write);
}

function registration(copyDir: string, sandbox: string, write: (h: Holder) => Promise<void>): Registration {
  let released: Promise<void> | undefined;
  return {
    copyDir,
    sandbox,
    holdBy: (h) => write(h),
    release: () => (released ??= unlink(join(copyDir, USERS_DIR, `${sandbox}.json`)).catch(() => {})),
  };
}

/**
 * The registration `sandbox` made earlier (by a manager that is gone), to end it or move it
 * to another holder; whether it is still there is not checked.
 */
export function existingRegistration(copyDir: string, sandbox: string): Registration {
  checkName(sandbox);
  const users = join(copyDir, USERS_DIR);
  const name = `${sandbox}.json`;
  return registration(copyDir, sandbox, (h) => writeAtomic(users, name, JSON.stringify(isRecordHolder(h) ? { sandbox, record: h.record } : { sandbox, holder: h })));
}

/**
 * The live users of a copy. Registrations whose process is gone are deleted on the way (call
 * holding the environment's lock); one that cannot be read counts as live: nothing in use is deleted.
 */
export async function liveUsers(copyDir: string): Promise<LiveUser[]> {
  const users = join(copyDir, USERS_DIR);
  let names: string[];
  try {
    names = await readdir(users);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const live: LiveUser[] = [];
  for (const name of names) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    const path = join(users, name);
    let parsed: z.infer<typeof RegistrationSchema> | undefined;
    try {
      const fh = await open(path, "r");
      try {
        const buf = Buffer.alloc(REGISTRATION_MAX_BYTES);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        parsed = RegistrationSchema.parse(JSON.parse(buf.subarray(0, bytesRead).toString("utf8")));
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
      live.push({ sandbox: name.slice(0, -".json".length) });
      continue;
    }
    if (parsed.holder ? await isRunning(parsed.holder) : await recordExists(parsed.record!, parsed.sandbox)) {
      live.push({ sandbox: parsed.sandbox, ...(parsed.holder ? { holder: parsed.holder } : { record: parsed.record }) });
    } else await unlink(path).catch(() => {});
  }
  return live;
}

/**
 * False only when the record file at `path` is provably gone: nothing there (or no directory
 * to hold it). A record that exists but cannot be read counts as there: nothing in use is deleted.
 */
async function recordExists(path: string, sandbox: string): Promise<boolean> {
  let text: string;
  try {
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(64 << 10);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== "ENOENT" && code !== "ENOTDIR";
  }
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id !== "string" || id === sandbox;
  } catch {
    return true;
  }
}

/**
 * Removes the copy at `copyDir` unless a live user holds it: marks it, checks its users, and
 * either unmarks it or renames it to `trashPath` and deletes it there with `removeTree`.
 * Call holding the environment's lock.
 */
export async function removeUnlessUsed(
  copyDir: string,
  trashPath: string,
  removeTree: (path: string) => Promise<void>,
): Promise<{ removed: true } | { removed: false; users: LiveUser[] }> {
  const users = join(copyDir, USERS_DIR);
  await mkdir(users, { recursive: true, mode: 0o700 });
  await writeAtomic(users, MARK, String(process.pid));
  let live: LiveUser[];
  try {
    live = await liveUsers(copyDir);
  } catch (err) {
    await clearMark(copyDir);
    throw err;
  }
  if (live.length > 0) {
    await clearMark(copyDir);
    return { removed: false, users: live };
  }
  await rename(copyDir, trashPath);
  await removeTree(trashPath);
  return { removed: true };
}

/** Clears a removal mark; one found while holding the environment's lock was left by a remover that died. */
export async function clearMark(copyDir: string): Promise<void> {
  await unlink(join(copyDir, USERS_DIR, MARK)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}
