/**
 * The record pyro writes into every sandbox directory it makes
 * (`<state>/sandboxes/<id>/pyro-sandbox.json`): whose sandbox it is and which processes it
 * lives in. A later manager deletes a leftover directory only when it holds such a record and
 * every process the record names is provably gone, so a state directory shared with anything
 * else (PYRO_STATE_DIR pointed at an existing folder), or with another live manager, loses
 * nothing pyro did not make.
 */
import { lstat, mkdir, open, readdir, rename } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { removeTree } from "./environments/remove-tree.js";
import type { Logger } from "./logger.js";
import { isRunning, ProcessIdentitySchema } from "./process-identity.js";

export const RECORD_FILE = "pyro-sandbox.json";
const RECORD_MAX_BYTES = 16 << 10;
/** Sandbox ids pyro makes (see leased-sandbox.ts); nothing else in sandboxes/ is ever deleted. */
export const SANDBOX_ID = /^sb-[0-9a-f]{10}$/;

const SandboxRecordSchema = z.object({
  format: z.literal("pyro.sandbox/1"),
  id: z.string().regex(SANDBOX_ID),
  /** The manager that made it; it destroys its sandboxes itself while it runs. */
  manager: ProcessIdentitySchema,
  /** The sandbox's own process (the one the backend started), once known. */
  process: ProcessIdentitySchema.optional(),
});

/** What a sandbox directory's record says. */
export type SandboxRecord = z.infer<typeof SandboxRecordSchema>;

/** Creates the sandbox directory `dir` (which must not exist) with its first record. */
export async function createSandboxDir(dir: string, record: SandboxRecord): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  await writeSandboxRecord(dir, record);
}

/** Replaces the record in `dir` whole (temp file, then rename). */
export async function writeSandboxRecord(dir: string, record: SandboxRecord): Promise<void> {
  const tmp = join(dir, `.${RECORD_FILE}.${randomBytes(4).toString("hex")}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(JSON.stringify(SandboxRecordSchema.parse(record)));
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, RECORD_FILE));
}

/** The record in `dir`, or undefined when there is none pyro could have written. */
async function readRecord(dir: string): Promise<SandboxRecord | undefined> {
  const path = join(dir, RECORD_FILE);
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile() || st.size > RECORD_MAX_BYTES) return undefined;
  try {
    const fh = await open(path, "r");
    try {
      const parsed = SandboxRecordSchema.safeParse(JSON.parse(await fh.readFile("utf8")));
      return parsed.success ? parsed.data : undefined;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Deletes the sandbox directories under `sandboxesDir` that pyro made and whose processes
 * are all gone; leaves everything else (other names, links, directories without a valid
 * record, sandboxes still running) where it is.
 */
export async function removeLeftoverSandboxes(
  sandboxesDir: string,
  log: Logger,
  /** Ends whatever of the dead sandboxes `ids` still holds resources (e.g. processes in their cgroups), before their directories go. */
  endDead: (ids: string[]) => Promise<void> = async () => {},
): Promise<{ removed: string[]; kept: string[] }> {
  const removed: string[] = [];
  const kept: string[] = [];
  const dead: string[] = [];
  for (const name of await readdir(sandboxesDir)) {
    const dir = join(sandboxesDir, name);
    const st = await lstat(dir).catch(() => undefined);
    const record = SANDBOX_ID.test(name) && st?.isDirectory() ? await readRecord(dir) : undefined;
    if (!record || record.id !== name) {
      kept.push(name);
      continue;
    }
    const running = (await isRunning(record.manager)) || (record.process !== undefined && (await isRunning(record.process)));
    if (running) {
      kept.push(name);
      continue;
    }
    dead.push(name);
  }
  await endDead(dead);
  for (const name of dead) {
    const dir = join(sandboxesDir, name);
    try {
      await removeTree(dir, log);
      removed.push(name);
    } catch (err) {
      log.warn("cannot remove a leftover sandbox directory", { path: dir, err });
    }
  }
  if (removed.length > 0) log.info("removed leftover sandboxes", { removed });
  if (kept.length > 0) log.info("left alone in the sandboxes directory (not made by pyro, or still running)", { kept: kept.slice(0, 20), count: kept.length });
  return { removed, kept };
}
