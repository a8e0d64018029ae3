/**
 * `workspace patch apply`: the host parses the diff, reads the files it touches from the
 * guest, checks every hunk (host/src/patch), streams one preflight result per file, and
 * writes only when every file passed. A write that fails midway is undone: every file
 * written so far gets its old content and mode back, every file added is removed.
 */
import { create } from "@bufbuild/protobuf";
import { ApplyWorkspacePatchResponseSchema, type ApplyWorkspacePatchResponse } from "../../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { PatchFileStatus } from "../../../proto/gen/pyro/manager/v1/workspace_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import type { Logger } from "../logger.js";
import type { GuestFilesPort } from "./guest-files-port.js";
import type { Workspaces } from "./workspaces.js";
import { PATCH_MAX_BYTES, PATCH_FILE_MAX_BYTES, preflightPatch, type PatchFileState, type PatchPreflight } from "./patch-engine.js";

const STATUS = { ok: PatchFileStatus.OK, conflict: PatchFileStatus.CONFLICT, error: PatchFileStatus.ERROR } as const;

const event = (e: ApplyWorkspacePatchResponse["event"]) => create(ApplyWorkspacePatchResponseSchema, { event: e });

/** The current state of each path a patch touches, read through the guest. */
async function readStates(files: GuestFilesPort, paths: string[], signal?: AbortSignal): Promise<Map<string, PatchFileState>> {
  const states = new Map<string, PatchFileState>();
  for (const path of paths) {
    const st = await files.stat(path, signal);
    if (!st) {
      states.set(path, { exists: false });
      continue;
    }
    if (st.type !== "file") {
      states.set(path, { exists: true, type: st.type, mode: st.mode });
      continue;
    }
    if (st.sizeBytes > PATCH_FILE_MAX_BYTES) throw new PyroError("too_large", `${path} is ${st.sizeBytes} bytes; patch apply works on files up to ${PATCH_FILE_MAX_BYTES} bytes`);
    const r = await files.read(path, PATCH_FILE_MAX_BYTES, signal);
    if (r.truncated) throw new PyroError("too_large", `${path} grew past ${PATCH_FILE_MAX_BYTES} bytes while it was read`);
    states.set(path, { exists: true, type: "file", mode: st.mode, data: r.data });
  }
  return states;
}

export class PatchApplier {
  constructor(private readonly o: { workspaces: Workspaces; log: Logger }) {}

  /** Applies `patch` to the workspace all-or-nothing; yields each file's preflight, then the outcome. */
  apply(workspace: string, patch: string, signal?: AbortSignal): AsyncGenerator<ApplyWorkspacePatchResponse> {
    const bytes = Buffer.byteLength(patch);
    if (bytes > PATCH_MAX_BYTES) throw new PyroError("too_large", `the patch is ${bytes} bytes; at most ${PATCH_MAX_BYTES} are applied at once`);
    const log = this.o.log;
    return this.o.workspaces.mutateStream(workspace, async function* (files) {
      const pre: PatchPreflight = await preflightPatch(patch, (paths) => readStates(files, paths, signal));
      for (const r of pre.results) {
        yield event({ case: "preflight", value: { ...r, status: STATUS[r.status] } });
      }
      const failed = pre.results.filter((r) => r.status !== "ok");
      if (failed.length > 0 || !pre.plan) {
        const first = failed[0];
        const where = first ? `${first.path}${first.conflictHunk ? ` (hunk ${first.conflictHunk})` : ""}: ${first.message}` : "nothing to apply";
        throw new PyroError("patch_conflict", `the patch does not apply; nothing was written. ${failed.length} of ${pre.results.length} files failed, first ${where}`, {
          data: { files: pre.results.length, failed: failed.length },
        });
      }
      // Everything passed: write, remembering how to undo each step.
      const undo: (() => Promise<unknown>)[] = [];
      try {
        for (const op of pre.plan) {
          const before = pre.states.get(op.path);
          if (op.kind === "write") await files.write(op.path, op.data, { mode: op.mode, signal });
          else await files.remove(op.path, signal);
          undo.push(() =>
            before?.exists && before.type === "file" && before.data ? files.write(op.path, before.data, { mode: before.mode }) : files.remove(op.path),
          );
        }
      } catch (err) {
        for (const u of undo.reverse()) await u().catch((e: unknown) => log.error("cannot undo a partly applied patch", { workspace, error: e }));
        throw err instanceof PyroError ? new PyroError(err.code, `the patch failed while it was written, and what was written was undone: ${err.message}`, { hint: err.hint }) : err;
      }
      yield event({ case: "applied", value: { changed: pre.plan.length > 0, filesChanged: new Set(pre.plan.map((p) => p.path)).size } });
    });
  }
}
