import { appendFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal, type JournalEntry } from "./journal.js";

const entry = (sequence: number, out = "hi\n"): JournalEntry => ({
  sequence,
  argv: ["echo", "hi"],
  cwd: "/workspace",
  exitCode: 0,
  signal: "",
  timedOut: false,
  startedAt: new Date().toISOString(),
  durationMs: 3,
  stdout: Buffer.from(out),
  stderr: new Uint8Array([0xff, 0x00]),
  stdoutTruncated: false,
  stderrTruncated: false,
});

describe("Journal", () => {
  it("keeps entries with increasing sequences, bytes intact, across instances", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const j = new Journal(dir);
    expect(await j.nextSequence()).toBe(1);
    await j.append(entry(1));
    expect(await j.nextSequence()).toBe(2);
    await j.append(entry(2, "two"));
    const again = new Journal(dir);
    const read = await again.read();
    expect(read.map((e) => e.sequence)).toEqual([1, 2]);
    expect(Buffer.from(read[1]!.stdout).toString()).toBe("two");
    expect([...read[0]!.stderr]).toEqual([0xff, 0x00]);
    expect(await again.nextSequence()).toBe(3);
  });

  it("skips a line a crash cut short, and clear() keeps sequences increasing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const j = new Journal(dir);
    await j.append(entry(await j.nextSequence()));
    await appendFile(join(dir, "journal.jsonl"), '{"sequence":2,"argv":["x"');
    expect((await new Journal(dir).read()).map((e) => e.sequence)).toEqual([1]);
    const after = new Journal(dir);
    await after.append(entry(await after.nextSequence()));
    expect((await after.read()).map((e) => e.sequence)).toEqual([1, 2]);
    await j.clear();
    expect(await j.read()).toEqual([]);
    expect(await j.nextSequence()).toBe(2);
  });
});
