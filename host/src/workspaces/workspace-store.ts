/**
 * Where workspaces live on the host: `<state>/workspaces/<id>/` holds `workspace.json` (the
 * record, replaced atomically), `baseline.tar` (the seeded /workspace), `snapshots/<name>.tar`
 * and `journal.jsonl`. The store keeps every record in memory too, so lists and lookups never
 * touch the disk; the disk is what a restarted manager recovers from.
 */
import { lstat, mkdir, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { PyroError } from "../../../sdk/src/errors.js";
import { echoInput } from "../../../sdk/src/echo.js";
import type { Logger } from "../logger.js";
import { writeFileAtomic } from "./atomic-write.js";
import { WORKSPACE_ID, WorkspaceRecordSchema, type WorkspaceRecord } from "./workspace-record.js";

const RECORD_FILE = "workspace.json";
const RECORD_MAX_BYTES = 64 << 10;

export class WorkspaceStore {
  private readonly records = new Map<string, WorkspaceRecord>();
  readonly root: string;

  constructor(private readonly o: { stateDir: string; log: Logger }) {
    this.root = join(o.stateDir, "workspaces");
  }

  /** Reads every record on disk (made by pyro and well-formed); others are left alone and logged. */
  async load(): Promise<WorkspaceRecord[]> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const id of await readdir(this.root)) {
      if (!WORKSPACE_ID.test(id)) continue;
      const record = await this.readRecord(id);
      if (record) this.records.set(id, record);
      else this.o.log.warn("workspace directory without a readable record left alone", { dir: join(this.root, id) });
    }
    return [...this.records.values()];
  }

  private async readRecord(id: string): Promise<WorkspaceRecord | undefined> {
    const path = join(this.root, id, RECORD_FILE);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isFile() || st.size > RECORD_MAX_BYTES) return undefined;
    const fh = await open(path, "r");
    try {
      const parsed = WorkspaceRecordSchema.safeParse(JSON.parse(await fh.readFile("utf8")));
      return parsed.success && parsed.data.id === id ? parsed.data : undefined;
    } catch {
      return undefined;
    } finally {
      await fh.close();
    }
  }

  /** The directory of workspace `id`. */
  dir(id: string): string {
    return join(this.root, id);
  }

  /** Makes a new workspace's directory (it must not exist). */
  async create(record: WorkspaceRecord): Promise<void> {
    this.checkName(record.name, record.id);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.dir(record.id), { mode: 0o700 });
    await mkdir(join(this.dir(record.id), "snapshots"), { mode: 0o700 });
    await this.save(record);
  }

  /** Replaces a record on disk (atomically) and in memory. */
  async save(record: WorkspaceRecord): Promise<void> {
    const parsed = WorkspaceRecordSchema.parse(record);
    this.checkName(parsed.name, parsed.id);
    await writeFileAtomic(join(this.dir(parsed.id), RECORD_FILE), JSON.stringify(parsed, null, 1));
    this.records.set(parsed.id, parsed);
  }

  /** Removes a workspace's directory; only ids pyro makes. */
  async remove(id: string): Promise<void> {
    if (!WORKSPACE_ID.test(id)) throw new Error(`not a workspace id: ${id}`);
    // The record goes first: a crash midway leaves a directory without one, never a record of a half-deleted workspace.
    await rm(join(this.dir(id), RECORD_FILE), { force: true });
    this.records.delete(id);
    await rm(this.dir(id), { recursive: true, force: true });
  }

  /** Every live workspace, most recently changed first. */
  list(): WorkspaceRecord[] {
    return [...this.records.values()].sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt) || b.id.localeCompare(a.id));
  }

  /** The workspace with this id or name; workspace_not_found otherwise. */
  find(idOrName: string): WorkspaceRecord {
    const byId = this.records.get(idOrName);
    if (byId) return byId;
    for (const r of this.records.values()) if (r.name !== undefined && r.name === idOrName) return r;
    throw new PyroError("workspace_not_found", `no workspace has the id or name ${echoInput(idOrName, 80)}`);
  }

  /** Current record of `id` (after other changes). */
  get(id: string): WorkspaceRecord | undefined {
    return this.records.get(id);
  }

  /** Refuses a name another live workspace has. */
  checkName(name: string | undefined, id: string): void {
    if (name === undefined) return;
    for (const r of this.records.values()) {
      if (r.id !== id && r.name === name) throw new PyroError("workspace_name_taken", `the name ${name} is taken by workspace ${r.id}`);
    }
  }
}
