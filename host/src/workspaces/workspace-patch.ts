/**
 * `workspace patch apply`: the host parses the diff, reads the files it touches from the
 * guest, checks every hunk (host/src/patch), streams one preflight result per file, and
 * writes only when every file passed. A write that fails midway is undone: every file
 * written or deleted so far gets its old content and mode back, every file added is removed.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ApplyWorkspacePatchResponseSchema, type ApplyWorkspacePatchResponse } from "../../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { PatchFileStatus } from "../../../proto/gen/pyro/manager/v1/workspace_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { BYTES_MAX_BYTES, type GuestFiles } from "../files/guest-files.js";
import type { Logger } from "../logger.js";
import { parsePatch, pathsToRead } from "../patch/parse-patch.js";
import { preflightPatch } from "../patch/preflight.js";
import type { CurrentFile, PatchWrite } from "../patch/types.js";
import type { Workspaces } from "./workspaces.js";

const STATUS = { ok: PatchFileStatus.OK, conflict: PatchFileStatus.CONFLICT, error: PatchFileStatus.ERROR } as const;

const event = (e: MessageInitShape<typeof ApplyWorkspacePatchResponseSchema>["event"]) => create(ApplyWorkspacePatchResponseSchema, { event: e });

/** The parent directories of a relative path, outermost first ("a/b/c" → ["a", "a/b"]). */
function parents(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** The largest file a patch may change: what one guest read or write moves. */
const FILE_MAX_BYTES = BYTES_MAX_BYTES;

/** Calls the guest this many at a time: each call is a round trip, and a patch touches many files. */
const GUEST_CALLS_AT_ONCE = 16;

/** Runs `fn` on every item, at most `limit` at a time; rejects with the first failure once the calls under way have settled. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      await fn(item).catch((err: unknown) => void (failure ??= { err }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

/** The current state of each path a patch touches, read through the guest (which confines every path to /workspace). */
async function readCurrent(files: GuestFiles, paths: string[], signal?: AbortSignal): Promise<Map<string, CurrentFile>> {
  const current = new Map<string, CurrentFile>();
  const dirKinds = new Map<string, Promise<string | undefined>>();
  await forEachLimit(paths, GUEST_CALLS_AT_ONCE, async (path) => {
    // git apply neither reads nor writes through a symlinked directory, even one that stays
    // inside; and nothing can be made under a file.
    let throughSymlink = false;
    let underFile = false;
    for (const dir of parents(path)) {
      let kind = dirKinds.get(dir);
      if (kind === undefined) {
        kind = files.stat(dir, { signal }).then((st) => st?.type);
        dirKinds.set(dir, kind);
      }
      const k = await kind;
      if (k === "symlink") throughSymlink = true;
      else if (k !== undefined && k !== "directory") underFile = true;
      if (throughSymlink || underFile || k === undefined) break;
    }
    if (underFile) {
      current.set(path, { kind: "missing", throughSymlink, underFile });
      return;
    }
    const st = throughSymlink ? undefined : await files.stat(path, { signal });
    if (throughSymlink || !st) {
      current.set(path, { kind: "missing", throughSymlink });
      return;
    }
    if (st.type !== "file") {
      current.set(path, { kind: st.type === "symlink" ? "symlink" : st.type === "directory" ? "directory" : "other" });
      return;
    }
    if (st.sizeBytes > FILE_MAX_BYTES) {
      throw new PyroError("too_large", `${path} is ${st.sizeBytes} bytes; patch apply works on files up to ${FILE_MAX_BYTES} bytes`);
    }
    const r = await files.readBytes(path, { maxBytes: FILE_MAX_BYTES, signal });
    if (r.truncated) throw new PyroError("too_large", `${path} grew past ${FILE_MAX_BYTES} bytes while it was read`);
    current.set(path, { kind: "file", content: r.bytes, mode: st.mode });
  });
  return current;
}

/** Removes the directories a deletion left empty, innermost first; never the workspace itself. */
async function removeEmptyParents(files: GuestFiles, path: string, signal?: AbortSignal): Promise<void> {
  for (const dir of parents(path).reverse()) {
    const listing = await files.list(dir, { maxEntries: 1, signal }).catch(() => undefined);
    if (!listing || listing.entries.length > 0) return;
    await files.remove(dir, { signal });
  }
}

export class PatchApplier {
  constructor(private readonly o: { workspaces: Workspaces; log: Logger }) {}

  /** Applies `patch` to the workspace all-or-nothing; yields each file's preflight, then the outcome. */
  apply(workspace: string, patch: string, signal?: AbortSignal): AsyncGenerator<ApplyWorkspacePatchResponse> {
    const parsed = parsePatch(patch); // a bad patch is refused before the workspace is even queued for
    const log = this.o.log;
    return this.o.workspaces.mutateStream(workspace, async function* (files) {
      const current = await readCurrent(files, pathsToRead(parsed), signal);
      const pre = preflightPatch(parsed, current, { maxFileBytes: FILE_MAX_BYTES });
      for (const r of pre.files) {
        yield event({
          case: "preflight",
          value: { ...r, status: STATUS[r.status] },
        });
      }
      if (!pre.ok) {
        const first = pre.files.find((f) => f.status !== "ok");
        const failed = pre.files.filter((f) => f.status !== "ok").length;
        const where = first ? `${first.path}${first.conflictHunk ? `, hunk ${first.conflictHunk}` : ""}: ${first.message}` : "";
        const code = pre.error?.code ?? "patch_conflict";
        throw new PyroError(code, `the patch does not apply, so nothing was written (${failed} of ${pre.files.length} files failed; first ${where})`, {
          hint: code === "patch_conflict" ? undefined : pre.error?.hint,
          data: { files: pre.files.length, failed },
        });
      }
      await applyWrites(files, pre.writes, current, log, workspace, signal);
      yield event({ case: "applied", value: { changed: pre.changed, filesChanged: pre.filesChanged } });
    });
  }
}

/**
 * Executes a write plan: deletions first, in order, then the writes (distinct paths) several
 * at a time. On a failure, once the calls under way have settled, undoes what was done and
 * rethrows.
 */
async function applyWrites(files: GuestFiles, writes: PatchWrite[], current: Map<string, CurrentFile>, log: Logger, workspace: string, signal?: AbortSignal): Promise<void> {
  const undo: (() => Promise<unknown>)[] = [];
  const restore = (path: string) => {
    const before = current.get(path);
    return () => (before?.kind === "file" ? files.writeBytes(path, before.content, { mode: before.mode }) : files.remove(path));
  };
  try {
    for (const w of writes) {
      if (w.kind !== "delete") continue;
      await files.remove(w.path, { signal });
      undo.push(restore(w.path));
      if (w.removeEmptyParents) await removeEmptyParents(files, w.path, signal);
    }
    const puts = writes.filter((w): w is Extract<PatchWrite, { kind: "write" }> => w.kind === "write");
    await forEachLimit(puts, GUEST_CALLS_AT_ONCE, async (w) => {
      await files.writeBytes(w.path, w.content, { mode: w.mode, signal });
      undo.push(restore(w.path));
    });
  } catch (err) {
    for (const u of undo.reverse()) await u().catch((e: unknown) => log.error("cannot undo a partly applied patch", { workspace, error: e }));
    if (err instanceof PyroError) throw new PyroError(err.code, `the patch failed while it was written, and what was written was undone: ${err.message}`, { hint: err.hint });
    throw err;
  }
}
