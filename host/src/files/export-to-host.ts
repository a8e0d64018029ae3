/**
 * `workspace export PATH --output HOST_PATH` in one call: the guest streams the archive
 * (guest-files.ts), the host unpacks it (extract-export.ts), and when either side fails the
 * other is stopped: the export call is cancelled, so a guest that stalls holds nothing open.
 */
import { extractExport, type ExtractLimits, type ExtractResult } from "./extract-export.js";
import type { GuestFiles } from "./guest-files.js";

export interface HostExport extends ExtractResult {
  type: "file" | "directory";
  /** What was exported, relative to /workspace. */
  path: string;
  /** Where it was written on the host. */
  output: string;
}

/** Exports `path` of the workspace to `output` on the host, which must not exist. */
export async function exportToHost(
  files: GuestFiles,
  path: string,
  output: string,
  opts: { limits?: Partial<ExtractLimits>; signal?: AbortSignal } = {},
): Promise<HostExport> {
  const abort = new AbortController();
  const onAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // The archive's own bound (headers and padding included) is GuestFiles'; the content's is the extractor's.
    const exp = await files.exportArchive(path, { signal: abort.signal });
    const result = await extractExport(exp.chunks, output, { type: exp.type, limits: opts.limits, signal: abort.signal });
    return { ...result, type: exp.type, path: exp.path, output };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    abort.abort();
  }
}
