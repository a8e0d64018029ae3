/**
 * The guest's FileService: a thin adapter from each RPC to its function (one file each),
 * all sharing one resolver for the workspace directory, with every error sent as a PyroError.
 */
import { realpathSync } from "node:fs";
import type { ServiceImpl } from "@connectrpc/connect";
import type { FileService } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { toConnectError } from "../../../sdk/src/errors.js";
import { exportArchive } from "./export-archive.js";
import { importArchive } from "./import-archive.js";
import { listFiles } from "./list-files.js";
import { readFile } from "./read-file.js";
import { removeFile } from "./remove-file.js";
import { statFile } from "./stat-file.js";
import { WorkspaceResolver } from "./workspace-path.js";
import { writeFile } from "./write-file.js";

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toConnectError(err);
  }
}

async function* mappedStream<T>(work: () => AsyncGenerator<T>): AsyncGenerator<T> {
  try {
    yield* work();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** The handlers of FileService for the workspace at `workspaceDir` (made real here, once). */
export function fileService(workspaceDir: string): ServiceImpl<typeof FileService> {
  const resolver = new WorkspaceResolver(realpathSync(workspaceDir));
  return {
    listFiles: (req, ctx) => mapped(() => listFiles(req, resolver, ctx.signal)),
    readFile: (req, ctx) => mappedStream(() => readFile(req, resolver, ctx.signal)),
    writeFile: (req) => mapped(() => writeFile(req, resolver)),
    removeFile: (req) => mapped(() => removeFile(req, resolver)),
    stat: (req) => mapped(() => statFile(req, resolver)),
    exportArchive: (req, ctx) => mappedStream(() => exportArchive(req, resolver, ctx.signal)),
    importArchive: (reqs, ctx) => mapped(() => importArchive(reqs, resolver, ctx.signal)),
  };
}
