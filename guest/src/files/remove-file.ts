/**
 * RemoveFile: resolve without following a last symlink → unlink a file or symlink, rmdir an
 * empty directory. Nothing there is an answer, not an error, so a rollback can run twice.
 */
import { rmdir, unlink } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { RemoveFileResponseSchema, type RemoveFileRequest, type RemoveFileResponse } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { fsError } from "./fs-error.js";
import type { WorkspaceResolver } from "./workspace-path.js";

export async function removeFile(req: RemoveFileRequest, resolver: WorkspaceResolver): Promise<RemoveFileResponse> {
  const target = await resolver.resolve(req.path, { followFinal: false });
  if (target.rel === "") throw new PyroError("invalid_argument", "the workspace directory itself cannot be removed");
  if (!target.stat) return create(RemoveFileResponseSchema, { existed: false });
  try {
    if (target.stat.isDirectory()) await rmdir(target.abs);
    else await unlink(target.abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return create(RemoveFileResponseSchema, { existed: false });
    throw fsError(err, req.path);
  }
  return create(RemoveFileResponseSchema, { existed: true });
}
