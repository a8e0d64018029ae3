/**
 * Reads a tar archive of /workspace (the baseline on the host, or a fresh export from the
 * guest) into an index: each path's type, mode, size, digest, and, for small files, the bytes
 * (for a text diff). The guest's archive is hostile: entry count, name length and the bytes
 * kept in memory are bounded; nothing is ever written from it.
 */
import { createHash } from "node:crypto";
import { extract, type Header } from "tar-stream";
import { PyroError } from "../../../sdk/src/errors.js";

export type IndexedType = "file" | "directory" | "symlink" | "other";

export interface IndexedEntry {
  type: IndexedType;
  mode: number;
  size: number;
  /** sha256 of a file's content; a symlink's target. */
  digest: string;
  /** A file's content, when small enough to diff as text. */
  content?: Buffer;
}

export const INDEX_LIMITS = { entries: 200_000, nameBytes: 4096, keptFileBytes: 1 << 20, keptTotalBytes: 128 << 20 } as const;

function typeOf(h: Header): IndexedType {
  if (h.type === "file" || h.type === "contiguous-file") return "file";
  if (h.type === "directory") return "directory";
  if (h.type === "symlink") return "symlink";
  return "other";
}

/**
 * "./a/b/" → "a/b"; undefined for the root itself and for names with ".." (which no honest
 * export holds). Names are compared and shown, never used as host paths.
 */
export function entryPath(name: string): string | undefined {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  return parts.length === 0 || parts.includes("..") ? undefined : parts.join("/");
}

/** Indexes a tar stream; `budget` (shared between two indexes) bounds the bytes kept for text diffs. */
export async function indexArchive(chunks: AsyncIterable<Uint8Array>, budget = { left: INDEX_LIMITS.keptTotalBytes }): Promise<Map<string, IndexedEntry>> {
  const index = new Map<string, IndexedEntry>();
  const ex = extract();
  const feed = (async () => {
    try {
      for await (const c of chunks) {
        if (!ex.write(c)) await new Promise<void>((r) => ex.once("drain", r));
      }
      ex.end(undefined);
    } catch (err) {
      ex.destroy(err as Error);
    }
  })();
  try {
    for await (const entry of ex) {
      const h = entry.header;
      if (index.size >= INDEX_LIMITS.entries) throw new PyroError("too_large", `the archive has more than ${INDEX_LIMITS.entries} entries`);
      if (Buffer.byteLength(h.name) > INDEX_LIMITS.nameBytes) throw new PyroError("unsafe_archive", "an archive entry's name is too long");
      const path = entryPath(h.name);
      const type = typeOf(h);
      const hash = createHash("sha256");
      const keep = type === "file" && (h.size ?? 0) <= INDEX_LIMITS.keptFileBytes && (h.size ?? 0) <= budget.left;
      const kept: Buffer[] = [];
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length;
        hash.update(chunk);
        if (keep) kept.push(chunk);
      }
      if (keep) budget.left -= size;
      if (!path) continue;
      index.set(path, {
        type,
        mode: (h.mode ?? 0) & 0o7777,
        size,
        digest: type === "symlink" ? (h.linkname ?? "") : hash.digest("hex"),
        content: keep ? Buffer.concat(kept, size) : undefined,
      });
    }
  } finally {
    await feed;
  }
  return index;
}
