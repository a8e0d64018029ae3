/**
 * A workspace's command journal (`journal.jsonl`): one JSON line per finished command, with
 * an increasing sequence and the output kept (at most 1 MiB per stream). Each line is
 * appended and flushed before the command's result is returned, so a manager killed after
 * answering loses no entry; a line cut short by a crash is skipped when read.
 */
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

const FILE = "journal.jsonl";
/** How much of the journal's end is read back for logs and for the next sequence. */
const TAIL_BYTES = 32 << 20;

const EntrySchema = z.object({
  sequence: z.number().int().positive(),
  argv: z.array(z.string()),
  cwd: z.string(),
  exitCode: z.number().int(),
  signal: z.string(),
  timedOut: z.boolean(),
  startedAt: z.string(),
  durationMs: z.number().nonnegative(),
  /** base64 */
  stdout: z.string(),
  stderr: z.string(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
});

export interface JournalEntry {
  sequence: number;
  argv: string[];
  cwd: string;
  exitCode: number;
  signal: string;
  timedOut: boolean;
  startedAt: string;
  durationMs: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export class Journal {
  private readonly path: string;
  private next = 0;
  /** Whether the file is known to end at a line break (a crash may have cut its last line). */
  private whole = false;

  constructor(dir: string) {
    this.path = join(dir, FILE);
  }

  /** The sequence the next command gets (one past the last in the journal, never reused in this manager). */
  async nextSequence(): Promise<number> {
    if (this.next === 0) {
      const last = (await this.read()).at(-1);
      this.next = (last?.sequence ?? 0) + 1;
    }
    return this.next++;
  }

  /** Appends one entry and flushes it to disk. */
  async append(e: JournalEntry): Promise<void> {
    const line = JSON.stringify({ ...e, stdout: Buffer.from(e.stdout).toString("base64"), stderr: Buffer.from(e.stderr).toString("base64") }) + "\n";
    const fh = await open(this.path, "a+", 0o600);
    try {
      if (!this.whole) {
        const { size } = await fh.stat();
        const last = Buffer.alloc(1);
        if (size > 0) await fh.read(last, 0, 1, size - 1);
        // A line a crash cut short is ended, so this entry starts a line of its own.
        if (size > 0 && last[0] !== 0x0a) await fh.appendFile("\n");
        this.whole = true;
      }
      await fh.appendFile(line);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /** The entries, oldest first (those in the journal's last 32 MiB). */
  async read(): Promise<JournalEntry[]> {
    const size = (await stat(this.path).catch(() => undefined))?.size ?? 0;
    if (size === 0) return [];
    const fh = await open(this.path, "r");
    let text: string;
    try {
      const start = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      text = buf.toString("utf8");
      if (start > 0) text = text.slice(text.indexOf("\n") + 1); // the first line may be cut
    } finally {
      await fh.close();
    }
    const entries: JournalEntry[] = [];
    for (const line of text.split("\n")) {
      if (!line) continue;
      let parsed;
      try {
        parsed = EntrySchema.safeParse(JSON.parse(line));
      } catch {
        continue; // a line a crash cut short
      }
      if (!parsed.success) continue;
      const d = parsed.data;
      entries.push({ ...d, stdout: Buffer.from(d.stdout, "base64"), stderr: Buffer.from(d.stderr, "base64") });
    }
    return entries;
  }

  /** Forgets every entry (a reset); sequences keep increasing. */
  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
