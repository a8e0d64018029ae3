/**
 * ImportArchive: read the header → resolve the destination (made when missing) → feed the
 * chunks (gunzipped when asked) into tar-stream's parser while the entries it yields are
 * unpacked one by one (archive-importer.ts) → the counts. Not all-or-nothing: an entry that
 * is refused stops the import there, and its error names it.
 */
import { join } from "node:path";
import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { create } from "@bufbuild/protobuf";
import { extract } from "tar-stream";
import {
  ArchiveCompression,
  ImportArchiveResponseSchema,
  type ImportArchiveRequest,
  type ImportArchiveResponse,
} from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { ArchiveImporter, type TarEntry } from "./archive-importer.js";
import { makeDirs } from "./make-dirs.js";
import { drained } from "./tar-writer.js";
import type { WorkspaceResolver } from "./workspace-path.js";

/** The chunks after the header, as bytes. */
async function* chunks(rest: AsyncIterator<ImportArchiveRequest>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    if (next.value.part.case !== "chunk") throw new PyroError("invalid_argument", "an import sends one header, then only chunks");
    if (next.value.part.value.length > 0) yield next.value.part.value;
  }
}

/** What a parser or gunzip failure (their own fixed words) becomes: the archive is damaged. */
function damaged(err: unknown, gzip: boolean, lastEntry: string | undefined): unknown {
  if (err instanceof PyroError) return err;
  const where = lastEntry === undefined ? "at its start" : `after the entry ${echoInput(lastEntry)}`;
  const what = gzip ? "a gzip-compressed tar archive" : "a tar archive";
  return new PyroError("invalid_argument", `the archive is not ${what} or is damaged ${where}: ${echoInput((err as Error).message ?? String(err), 120)}`, { cause: err });
}

export async function importArchive(requests: AsyncIterable<ImportArchiveRequest>, resolver: WorkspaceResolver, signal: AbortSignal): Promise<ImportArchiveResponse> {
  const rest = requests[Symbol.asyncIterator]();
  const first = await rest.next();
  if (first.done || first.value.part.case !== "header") throw new PyroError("invalid_argument", "an import starts with its header");
  const header = first.value.part.value;
  const dest = await resolver.resolve(header.dest, { followFinal: true });
  if (dest.stat && !dest.stat.isDirectory()) throw new PyroError("invalid_argument", `the destination ${echoInput(header.dest)} is not a directory`);
  if (!dest.stat) {
    const names = dest.rel.split("/");
    const present = names.length - dest.missing;
    await makeDirs(join(resolver.root, ...names.slice(0, present)), names.slice(present), header.dest);
  }

  const gzip = header.compression === ArchiveCompression.GZIP;
  const raw = Readable.from(chunks(rest), { objectMode: false });
  const source: Readable = gzip ? pipeline(raw, createGunzip(), () => {}) : raw;
  const parser = extract();
  // Listen for entries before the first byte goes in: the parser does not keep one no one takes.
  const entries = parser[Symbol.asyncIterator]();
  // The chunk stream's own failure (a second header), kept before the parser is stopped with
  // it: it says more than the parser's echo of it.
  let sourceFailure: unknown;
  const feeding = (async () => {
    for await (const buf of source) {
      if (!parser.write(buf)) await drained(parser);
    }
    parser.end(null);
  })();
  feeding.catch((err: unknown) => {
    sourceFailure ??= err;
    parser.destroy(err instanceof Error ? err : new Error(String(err)));
  });

  const importer = new ArchiveImporter(resolver.root, dest.rel);
  let lastEntry: string | undefined;
  try {
    for (let next = await entries.next(); !next.done; next = await entries.next()) {
      signal.throwIfAborted();
      const entry = next.value as TarEntry;
      await importer.add(entry);
      lastEntry = entry.header.name;
    }
    await feeding;
  } catch (err) {
    // Stop the feeding without waiting for it: it may wait for a chunk the host has not sent.
    source.destroy();
    parser.destroy(null);
    throw damaged(sourceFailure instanceof PyroError ? sourceFailure : err, gzip, lastEntry);
  } finally {
    await importer.finish();
  }
  const c = importer.counts;
  return create(ImportArchiveResponseSchema, {
    files: c.files,
    directories: c.directories,
    symlinks: c.symlinks,
    hardLinks: c.hardLinks,
    bytesWritten: BigInt(c.bytesWritten),
  });
}
