/** A small structured logger: one JSON object per line, to a file or any writable stream. */
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Writable } from "node:stream";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

function serialize(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}

/** Logs to `stream`; debug lines only when `debug` is true. */
export function streamLogger(stream: Writable, debug = false): Logger {
  const write = (level: string, msg: string, fields: LogFields = {}) => {
    stream.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...serialize(fields) }) + "\n");
  };
  return {
    debug: (m, f) => debug && write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** Appends to the log file at `path`, creating its directory owner-only. */
export function fileLogger(path: string, debug = false): Logger {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return streamLogger(createWriteStream(path, { flags: "a", mode: 0o600 }), debug);
}

/** Drops everything; for tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
