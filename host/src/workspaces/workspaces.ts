/**
 * Persistent workspaces: a plain class the gRPC WorkspaceService adapts. Each workspace is a
 * record (WorkspaceStore), a durable sandbox that outlives the manager, a baseline archive and
 * a journal. Mutations of one workspace run one at a time (KeyedQueue); reads run alongside.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { PyroError } from "../../../sdk/src/errors.js";
import type { Sandbox } from "../backends/backend.js";
import type { EnsureProgress } from "../environments/store.js";
import type { Logger } from "../logger.js";
import { KeyedQueue } from "./keyed-queue.js";
import { Journal, type JournalEntry } from "./journal.js";
import type { GuestFiles } from "../files/guest-files.js";
import type { WorkspaceSandboxes } from "./workspace-sandboxes.js";
import { validateCreate, validateLabels, validateName, validateSnapshotName, type CreateSpecInput } from "./workspace-spec.js";
import type { WorkspaceRecord } from "./workspace-record.js";
import { SNAPSHOTS_MAX } from "./workspace-record.js";
import type { WorkspaceStore } from "./workspace-store.js";
import { execInWorkspace, type ExecRequest, type WorkspaceExecEvent } from "./workspace-exec.js";

/** The largest seed or pushed archive accepted, after decompression. */
export const ARCHIVE_MAX_BYTES = 1 << 30;
const BASELINE = "baseline.tar";

export interface CreateWorkspaceInput extends CreateSpecInput {
  network: boolean;
  allowHostCompat: boolean;
  backend: string;
}

export interface WorkspaceView extends WorkspaceRecord {
  /** The limits its sandbox runs under (when started). */
  sandbox?: Sandbox;
}

export type ArchiveCompression = "none" | "gzip";
/** The files of a sandbox, through its agent. */
export type FilesFor = (sandbox: Sandbox) => GuestFiles;

export interface WorkspacesOptions {
  store: WorkspaceStore;
  sandboxes: Pick<WorkspaceSandboxes, "backend" | "create">;
  files: FilesFor;
  log: Logger;
  now?: () => Date;
}

function newId(): string {
  return `ws-${randomBytes(5).toString("hex")}`;
}

/** Counts bytes going through, refusing past `max`. */
async function* bounded(chunks: AsyncIterable<Uint8Array>, max: number, what: string): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const c of chunks) {
    n += c.length;
    if (n > max) throw new PyroError("too_large", `${what} is larger than ${max} bytes`);
    yield c;
  }
}

export class Workspaces {
  private readonly queue = new KeyedQueue();
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly journals = new Map<string, Journal>();
  /** Names claimed by creations still under way. */
  private readonly claimedNames = new Set<string>();
  private readonly now: () => Date;
  private reaper: NodeJS.Timeout | undefined;

  constructor(private readonly o: WorkspacesOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /**
   * Loads every workspace and re-adopts its sandbox: `adopt(sandboxId)` returns the running
   * sandbox a restarted manager found, or undefined. A started workspace whose sandbox is gone
   * becomes failed, its files kept (start brings it back).
   */
  async recover(adopt: (sandboxId: string) => Promise<Sandbox | undefined>): Promise<void> {
    for (const r of await this.o.store.load()) {
      const sandbox = await adopt(r.sandboxId).catch((err: unknown) => {
        this.o.log.warn("cannot re-adopt a workspace's sandbox", { workspace: r.id, sandbox: r.sandboxId, error: err });
        return undefined;
      });
      if (sandbox) this.sandboxes.set(r.id, sandbox);
      if (r.state === "started" && (!sandbox || !sandbox.alive())) {
        await this.o.store.save({ ...r, state: "failed", failure: "its sandbox was not running when the manager started; its files are kept (start it again)" });
        this.o.log.warn("workspace's sandbox is gone", { workspace: r.id, sandbox: r.sandboxId });
      } else if (sandbox) this.o.log.info("workspace re-adopted", { workspace: r.id, sandbox: r.sandboxId });
    }
  }

  private journal(id: string): Journal {
    let j = this.journals.get(id);
    if (!j) this.journals.set(id, (j = new Journal(this.o.store.dir(id))));
    return j;
  }

  private touch(r: WorkspaceRecord, changes: Partial<WorkspaceRecord> = {}): Promise<void> {
    return this.o.store.save({ ...r, ...changes, lastActivityAt: this.now().toISOString() });
  }

  /** The live sandbox of a started workspace; workspace_not_running otherwise. */
  private running(r: WorkspaceRecord): Sandbox {
    const sandbox = this.sandboxes.get(r.id);
    if (r.state !== "started" || !sandbox) {
      throw new PyroError("workspace_not_running", `workspace ${r.name ?? r.id} is ${r.state}${r.failure ? ` (${r.failure})` : ""}`, {
        hint: `start it first with \`pyro workspace start ${r.name ?? r.id}\``,
      });
    }
    return sandbox;
  }

  /** Creates and starts a workspace; `seed` is an archive whose contents become /workspace and the baseline. */
  async create(input: CreateWorkspaceInput, seed: { chunks: AsyncIterable<Uint8Array>; compression: ArchiveCompression } | undefined, signal: AbortSignal, onProgress?: (p: EnsureProgress) => void): Promise<WorkspaceView> {
    const v = validateCreate(input);
    if (v.name !== undefined) {
      if (this.claimedNames.has(v.name)) throw new PyroError("workspace_name_taken", `the name ${v.name} is being given to another workspace`);
      this.o.store.checkName(v.name, "");
      this.claimedNames.add(v.name);
    }
    const id = newId();
    const dir = this.o.store.dir(id);
    let sandbox: Sandbox | undefined;
    let made = false;
    try {
      // The backend is checked before anything is stored: a refusal costs nothing.
      const backend = await this.o.sandboxes.backend(input);
      const created = this.now();
      const record: WorkspaceRecord = {
        format: "pyro.workspace/1",
        id,
        name: v.name,
        labels: v.labels,
        environment: v.entry.name,
        backend: backend.name,
        resources: { vcpuCount: v.vcpuCount, memMib: v.memMib, diskMib: v.diskMib },
        network: input.network,
        ttlSeconds: v.ttlSeconds,
        createdAt: created.toISOString(),
        lastActivityAt: created.toISOString(),
        expiresAt: new Date(created.getTime() + v.ttlSeconds * 1000).toISOString(),
        state: "stopped",
        sandboxId: "",
        snapshots: [],
        commandCount: 0,
      };
      await this.o.store.create(record);
      made = true;
      // The seed is kept first, as the baseline every reset and diff goes back to.
      await this.storeArchive(join(dir, BASELINE), seed);
      sandbox = await this.o.sandboxes.create(
        { environment: v.entry.name, backend: input.backend, allowHostCompat: input.allowHostCompat, network: input.network, resources: record.resources },
        signal,
        onProgress,
      );
      await this.importBaseline(sandbox, join(dir, BASELINE), signal);
      this.sandboxes.set(id, sandbox);
      await this.o.store.save({ ...record, backend: sandbox.backend, sandboxId: sandbox.id, state: "started" });
      this.o.log.info("workspace created", { workspace: id, sandbox: sandbox.id, environment: v.entry.name });
      return this.view(id);
    } catch (err) {
      this.sandboxes.delete(id);
      await sandbox?.destroy().catch(() => {});
      if (made) await this.o.store.remove(id).catch(() => {});
      throw err;
    } finally {
      if (v.name !== undefined) this.claimedNames.delete(v.name);
    }
  }

  /** Writes an archive (decompressed) to `path`, whole or not at all; an empty archive when none is given. */
  private async storeArchive(path: string, seed: { chunks: AsyncIterable<Uint8Array>; compression: ArchiveCompression } | undefined): Promise<void> {
    const tmp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      if (!seed) {
        await pipeline(async function* () {
          yield Buffer.alloc(1024); // two zero blocks: an empty tar archive
        }, createWriteStream(tmp, { mode: 0o600 }));
      } else if (seed.compression === "gzip") {
        await pipeline(seed.chunks, createGunzip(), (s: AsyncIterable<Uint8Array>) => bounded(s, ARCHIVE_MAX_BYTES, "the seed archive"), createWriteStream(tmp, { mode: 0o600 }));
      } else {
        await pipeline(bounded(seed.chunks, ARCHIVE_MAX_BYTES, "the seed archive"), createWriteStream(tmp, { mode: 0o600 }));
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof PyroError) throw err;
      throw new PyroError("invalid_argument", `the seed archive could not be read: ${(err as Error).message}`, { cause: err });
    }
  }

  private async importBaseline(sandbox: Sandbox, archive: string, signal: AbortSignal): Promise<void> {
    if ((await stat(archive)).size <= 1024) return; // empty
    await this.o.files(sandbox).importArchive("", createReadStream(archive), { signal });
  }

  /** A workspace as clients see it. */
  view(idOrName: string): WorkspaceView {
    const r = this.o.store.find(idOrName);
    return { ...r, sandbox: this.sandboxes.get(r.id) };
  }

  list(labels: Record<string, string> = {}): WorkspaceView[] {
    return this.o.store
      .list()
      .filter((r) => Object.entries(labels).every(([k, v]) => r.labels[k] === v))
      .map((r) => ({ ...r, sandbox: this.sandboxes.get(r.id) }));
  }

  update(idOrName: string, u: { name?: string; setLabels: Record<string, string>; clearLabels: string[] }): Promise<WorkspaceView> {
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, async () => {
      const r = this.o.store.find(id);
      const labels = { ...r.labels, ...validateLabels(u.setLabels) };
      for (const k of u.clearLabels) delete labels[k];
      validateLabels(labels);
      const name = u.name === undefined ? r.name : u.name === "" ? undefined : validateName(u.name);
      if (name !== undefined && name !== r.name && this.claimedNames.has(name)) throw new PyroError("workspace_name_taken", `the name ${name} is being given to another workspace`);
      await this.touch(r, { name, labels });
      return this.view(id);
    });
  }

  async logs(idOrName: string, limit: number): Promise<{ entries: JournalEntry[]; omitted: number }> {
    const r = this.o.store.find(idOrName);
    const all = await this.journal(r.id).read();
    const entries = limit > 0 ? all.slice(-limit) : all;
    return { entries, omitted: all.length - entries.length };
  }

  stop(idOrName: string): Promise<WorkspaceView> {
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, async () => {
      const r = this.o.store.find(id);
      const sandbox = this.sandboxes.get(id);
      if (sandbox) await sandbox.stop();
      await this.touch(r, { state: "stopped", failure: undefined });
      return this.view(id);
    });
  }

  start(idOrName: string, signal: AbortSignal): Promise<WorkspaceView> {
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, async () => {
      const r = this.o.store.find(id);
      const sandbox = this.sandboxes.get(id);
      if (r.state === "started" && sandbox?.alive()) return this.view(id);
      if (!sandbox) {
        throw new PyroError("workspace_not_running", `the sandbox of workspace ${r.name ?? r.id} is gone and cannot be started again`, {
          hint: `reset it to its baseline with \`pyro workspace reset ${r.name ?? r.id}\`, or delete it`,
        });
      }
      await sandbox.start(signal);
      await this.touch(r, { state: "started", failure: undefined });
      return this.view(id);
    });
  }

  delete(idOrName: string): Promise<string> {
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, () => this.remove(id));
  }

  private async remove(id: string): Promise<string> {
    const sandbox = this.sandboxes.get(id);
    this.sandboxes.delete(id);
    await sandbox?.destroy();
    this.journals.delete(id);
    await this.o.store.remove(id);
    this.o.log.info("workspace deleted", { workspace: id });
    return id;
  }

  /** Deletes every workspace past its expiry; returns their ids. */
  async reapExpired(): Promise<string[]> {
    const now = this.now().toISOString();
    const expired = this.o.store.list().filter((r) => r.expiresAt <= now);
    const gone: string[] = [];
    for (const r of expired) {
      await this.queue
        .run(r.id, async () => {
          if (this.o.store.get(r.id)) gone.push(await this.remove(r.id));
        })
        .catch((err: unknown) => this.o.log.warn("cannot reap an expired workspace", { workspace: r.id, error: err }));
    }
    return gone;
  }

  /** Runs a command in the workspace, journaled; events stream as they come. */
  exec(idOrName: string, req: ExecRequest, signal: AbortSignal): AsyncGenerator<WorkspaceExecEvent> {
    const id = this.o.store.find(idOrName).id;
    const self = this;
    return this.queue.runStream(id, async function* () {
      const r = self.o.store.find(id);
      const sandbox = self.running(r);
      const journal = self.journal(id);
      const sequence = await journal.nextSequence();
      const entry = yield* execInWorkspace(sandbox, req, sequence, signal, self.o.log);
      await journal.append(entry);
      await self.touch(self.o.store.find(id), { commandCount: self.o.store.find(id).commandCount + 1 });
      yield {
        type: "exited",
        sequence,
        exitCode: entry.exitCode,
        signal: entry.signal,
        durationMs: entry.durationMs,
        timedOut: entry.timedOut,
        stdoutTruncated: entry.stdoutTruncated,
        stderrTruncated: entry.stderrTruncated,
      };
    });
  }

  /** The files of a started workspace (reads: no queue). */
  filesOf(idOrName: string) {
    const r = this.o.store.find(idOrName);
    return { record: r, files: this.o.files(this.running(r)) };
  }

  /** Runs a mutation of the workspace's files in its queue, and marks the workspace changed once it succeeded. */
  mutate<T>(idOrName: string, fn: (files: ReturnType<FilesFor>, r: WorkspaceRecord) => Promise<T>): Promise<T> {
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, async () => {
      const r = this.o.store.find(id);
      const out = await fn(this.o.files(this.running(r)), r);
      await this.touch(this.o.store.find(id));
      return out;
    });
  }

  /** Like mutate, for a stream of events. */
  mutateStream<T>(idOrName: string, fn: (files: ReturnType<FilesFor>, r: WorkspaceRecord) => AsyncGenerator<T>): AsyncGenerator<T> {
    const id = this.o.store.find(idOrName).id;
    const self = this;
    return this.queue.runStream(id, async function* () {
      const r = self.o.store.find(id);
      yield* fn(self.o.files(self.running(r)), r);
      await self.touch(self.o.store.find(id));
    });
  }

  /** Path of the baseline archive. */
  baselinePath(id: string): string {
    return join(this.o.store.dir(id), BASELINE);
  }

  snapshotPath(id: string, name: string): string {
    return join(this.o.store.dir(id), "snapshots", `${validateSnapshotName(name)}.tar`);
  }

  /** Keeps /workspace as a named snapshot. */
  createSnapshot(idOrName: string, name: string, signal: AbortSignal) {
    validateSnapshotName(name);
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, async () => {
      const r = this.o.store.find(id);
      if (r.snapshots.some((s) => s.name === name)) throw new PyroError("snapshot_exists", `workspace ${r.name ?? r.id} already has a snapshot named ${name}`);
      if (r.snapshots.length >= SNAPSHOTS_MAX) throw new PyroError("too_large", `a workspace keeps at most ${SNAPSHOTS_MAX} snapshots`, { hint: "delete one first with `pyro workspace snapshot delete`" });
      const exported = await this.o.files(this.running(r)).exportArchive("", { signal });
      const path = this.snapshotPath(id, name);
      await this.storeArchive(path, { chunks: exported.chunks, compression: "none" });
      const snapshot = { name, createdAt: this.now().toISOString(), sizeBytes: (await stat(path)).size };
      await this.o.store.save({ ...this.o.store.find(id), snapshots: [...this.o.store.find(id).snapshots, snapshot] });
      return snapshot;
    });
  }

  listSnapshots(idOrName: string) {
    return this.o.store.find(idOrName).snapshots;
  }

  deleteSnapshot(idOrName: string, name: string) {
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, async () => {
      const r = this.o.store.find(id);
      if (!r.snapshots.some((s) => s.name === name)) throw new PyroError("snapshot_not_found", `workspace ${r.name ?? r.id} has no snapshot named ${name}`);
      await this.o.store.save({ ...r, snapshots: r.snapshots.filter((s) => s.name !== name) });
      await rm(this.snapshotPath(id, name), { force: true });
    });
  }

  /**
   * Recreates the workspace's sandbox from its baseline or a snapshot: a new sandbox (no
   * /tmp, processes or history of the old one), the archive imported into /workspace. Id,
   * name, labels, baseline and snapshots stay.
   */
  reset(idOrName: string, snapshot: string, signal: AbortSignal): Promise<WorkspaceView> {
    const id = this.o.store.find(idOrName).id;
    return this.queue.run(id, async () => {
      const r = this.o.store.find(id);
      let archive = this.baselinePath(id);
      if (snapshot !== "") {
        if (!r.snapshots.some((s) => s.name === snapshot)) throw new PyroError("snapshot_not_found", `workspace ${r.name ?? r.id} has no snapshot named ${snapshot}`);
        archive = this.snapshotPath(id, snapshot);
      }
      const fresh = await this.o.sandboxes.create(
        { environment: r.environment, backend: r.backend, allowHostCompat: r.backend === "host", network: r.network, resources: r.resources },
        signal,
      );
      try {
        await this.importBaseline(fresh, archive, signal);
      } catch (err) {
        await fresh.destroy().catch(() => {});
        throw err;
      }
      const old = this.sandboxes.get(id);
      this.sandboxes.set(id, fresh);
      await this.journal(id).clear();
      await this.touch(r, { sandboxId: fresh.id, state: "started", failure: undefined, commandCount: 0 });
      await old?.destroy().catch((err: unknown) => this.o.log.warn("cannot destroy a reset workspace's old sandbox", { workspace: id, error: err }));
      return this.view(id);
    });
  }

  /** Deletes expired workspaces every `intervalMs` (TTL), until close(). */
  startReaper(intervalMs = 30_000): void {
    this.reaper ??= setInterval(() => {
      void this.reapExpired().then(
        (ids) => ids.length > 0 && this.o.log.info("expired workspaces deleted", { workspaces: ids }),
        (err: unknown) => this.o.log.warn("reaping expired workspaces failed", { error: err }),
      );
    }, intervalMs);
    this.reaper.unref();
  }

  /** Stops the reaper and lets go of the sandboxes without stopping them: they outlive the manager. */
  close(): void {
    if (this.reaper) clearInterval(this.reaper);
    this.sandboxes.clear();
  }
}
