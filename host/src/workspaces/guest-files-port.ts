/**
 * What the workspace layer asks of a sandbox's files. The guest agent does the file work
 * (the host never walks a guest-writable tree by path); the host-side client behind this
 * interface checks everything that comes back.
 */
import type { Sandbox } from "../backends/backend.js";

export type GuestFileType = "file" | "directory" | "symlink" | "other";

export interface GuestFileEntry {
  /** Relative to /workspace, "/"-separated. */
  path: string;
  type: GuestFileType;
  sizeBytes: number;
  mode: number;
  linkTarget: string;
}

export interface GuestFileStat {
  type: GuestFileType;
  sizeBytes: number;
  mode: number;
  linkTarget: string;
}

export type ArchiveCompression = "none" | "gzip";

export interface GuestFilesPort {
  list(path: string, recursive: boolean, signal?: AbortSignal): Promise<{ entries: GuestFileEntry[]; truncated: boolean }>;
  /** undefined when nothing is at `path`. */
  stat(path: string, signal?: AbortSignal): Promise<GuestFileStat | undefined>;
  /** The first `maxBytes` of a regular file. */
  read(path: string, maxBytes: number, signal?: AbortSignal): Promise<{ data: Uint8Array; sizeBytes: number; truncated: boolean }>;
  /** Replaces (or creates, with parents) a regular file atomically; an existing file keeps its mode unless `mode` is given. */
  write(path: string, data: Uint8Array, options?: { mode?: number; signal?: AbortSignal }): Promise<{ bytesWritten: number }>;
  remove(path: string, signal?: AbortSignal): Promise<void>;
  importArchive(dest: string, chunks: AsyncIterable<Uint8Array>, compression: ArchiveCompression, signal?: AbortSignal): Promise<{ files: number; directories: number; bytesWritten: number }>;
  exportArchive(path: string, signal?: AbortSignal): Promise<{ type: "file" | "directory"; path: string; chunks: AsyncIterable<Uint8Array> }>;
}

/** The files of a sandbox, through its agent. */
export type FilesFor = (sandbox: Sandbox) => GuestFilesPort;
