/**
 * Test support: a workspace file or directory exported through GuestFiles and unpacked on the
 * host by the SDK's safe extractor, as `pyro workspace export` does on the client's side.
 */
import { extractTar, type ExtractResult } from "../../../sdk/src/archive/extract.js";
import type { GuestFiles } from "./guest-files.js";

export interface HostExport extends ExtractResult {
  type: "file" | "directory";
  /** What was exported, relative to /workspace. */
  path: string;
  output: string;
}

/** Exports `path` from the guest and unpacks it at `output` (which must not exist). */
export async function exportToHost(files: GuestFiles, path: string, output: string, opts: { signal?: AbortSignal } = {}): Promise<HostExport> {
  const abort = new AbortController();
  const onAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const exp = await files.exportArchive(path, { signal: abort.signal });
    const result = await extractTar(exp.chunks, output, { kind: exp.type, signal: abort.signal });
    return { ...result, type: exp.type, path: exp.path, output };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    abort.abort();
  }
}
