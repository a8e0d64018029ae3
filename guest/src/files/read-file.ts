/**
 * ReadFile: resolve (following a last symlink that stays inside) → open without following
 * and check it is a regular file → stream at most max_bytes in 64 KiB chunks → done with the
 * size. Whether the bytes are text is the host's call: it checks what it gets, and an agent's
 * word on it would be worth nothing.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { ReadFileResponseSchema, type ReadFileRequest, type ReadFileResponse } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { fsError } from "./fs-error.js";
import type { WorkspaceResolver } from "./workspace-path.js";

/** Bytes read when the request names no bound. */
export const READ_DEFAULT_BYTES = 65_536;
/** Bytes of one data message. */
export const READ_CHUNK_BYTES = 64 << 10;

/** Opens `abs` for reading if it is a regular file: never through a symlink, never blocking on a fifo. */
export async function openRegular(abs: string, shown: string) {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    // O_NOFOLLOW on a symlink: it was swapped in after the walk.
    if (err.code === "ELOOP") throw new PyroError("invalid_argument", `${echoInput(shown)} changed while it was being read`);
    throw fsError(err, shown);
  });
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new PyroError("invalid_argument", `${echoInput(shown)} is ${st.isDirectory() ? "a directory" : "not a regular file"}`);
  }
  return { fh, size: st.size };
}

export async function* readFile(req: ReadFileRequest, resolver: WorkspaceResolver, signal: AbortSignal): AsyncGenerator<ReadFileResponse> {
  const max = req.maxBytes === 0n ? READ_DEFAULT_BYTES : Number(req.maxBytes > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : req.maxBytes);
  const file = await resolver.resolve(req.path, { followFinal: true });
  if (!file.stat) throw new PyroError("file_not_found", `${echoInput(req.path)} does not exist in the workspace`);
  const { fh, size } = await openRegular(file.abs, req.path);
  try {
    const want = Math.min(size, max);
    let sent = 0;
    while (sent < want) {
      signal.throwIfAborted();
      // A fresh buffer each time: the message may still be on its way when the next read starts.
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, want - sent));
      const { bytesRead } = await fh.read(buf, 0, buf.length, sent);
      if (bytesRead === 0) break; // it shrank since the fstat
      sent += bytesRead;
      yield create(ReadFileResponseSchema, { part: { case: "data", value: buf.subarray(0, bytesRead) } });
    }
    // A file that shrank is reported at the size it had when read to its end.
    const sizeBytes = sent < want ? sent : size;
    yield create(ReadFileResponseSchema, { part: { case: "done", value: { sizeBytes: BigInt(sizeBytes), truncated: sent < sizeBytes } } });
  } finally {
    await fh.close();
  }
}
