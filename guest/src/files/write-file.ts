/**
 * WriteFile: resolve (following a last symlink that stays inside) → make missing parents →
 * write a temporary file beside it (O_EXCL, so nothing is followed), set the mode (an existing
 * file's, or the new one's), fsync → rename over the path. Readers see the old content or the
 * new, never a half-written file; a failure leaves the old file and removes the temporary one.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { WriteFileResponseSchema, type WriteFileRequest, type WriteFileResponse } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { fsError } from "./fs-error.js";
import { makeDirs } from "./make-dirs.js";
import type { WorkspaceResolver } from "./workspace-path.js";

/** The largest file one write takes (the host's own bound is lower). */
export const WRITE_MAX_BYTES = 16 << 20;
const DEFAULT_MODE = 0o644;

export async function writeFile(req: WriteFileRequest, resolver: WorkspaceResolver): Promise<WriteFileResponse> {
  if (req.data.length > WRITE_MAX_BYTES) throw new PyroError("too_large", `a file written at once may have at most ${WRITE_MAX_BYTES} bytes`);
  const target = await resolver.resolve(req.path, { followFinal: true });
  if (target.rel === "") throw new PyroError("invalid_argument", "the workspace directory itself cannot be written as a file");
  if (target.stat && !target.stat.isFile()) {
    throw new PyroError("invalid_argument", `${echoInput(req.path)} is ${target.stat.isDirectory() ? "a directory" : "not a regular file"}`);
  }
  if (target.missing > 1) {
    if (!req.createParents) throw new PyroError("file_not_found", `the directory of ${echoInput(req.path)} does not exist in the workspace`);
    const names = target.rel.split("/");
    const present = names.length - target.missing;
    await makeDirs(join(resolver.root, ...names.slice(0, present)), names.slice(present, -1), req.path);
  }
  const mode = req.mode !== undefined ? req.mode & 0o7777 : target.stat ? target.stat.mode & 0o7777 : (req.modeIfNew & 0o777) || DEFAULT_MODE;
  // A short name of its own: the file's name may already be as long as a name can be.
  const temp = join(dirname(target.abs), `.pyro-write-${randomBytes(8).toString("hex")}.tmp`);
  try {
    const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(req.data);
      // The open's mode passes the umask; chmod says exactly what the file gets.
      await fh.chmod(mode);
      if (target.stat) await fh.chown(target.stat.uid, target.stat.gid).catch(() => {});
      await fh.sync();
    } finally {
      await fh.close();
    }
    // rename replaces a symlink or file at the path itself, never what a symlink points at.
    await rename(temp, target.abs);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw fsError(err, req.path);
  }
  return create(WriteFileResponseSchema, { path: target.rel, bytesWritten: BigInt(req.data.length) });
}
