import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { flushed, writeWithBackpressure } from "./io.js";

/** A writable that takes a chunk only when the test says so, with room for one small chunk. */
function slowWritable() {
  const pending: (() => void)[] = [];
  const received: string[] = [];
  const stream = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _enc, done) {
      pending.push(() => {
        received.push(chunk.toString());
        done();
      });
    },
  });
  const next = () => pending.shift()?.();
  return { stream, received, next };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("writeWithBackpressure", () => {
  it("asks the caller to wait while the stream is full, and lets it go on once it drained", async () => {
    const { stream, received, next } = slowWritable();
    expect(writeWithBackpressure(stream, Buffer.from("ab"))).toBeUndefined(); // room left
    const wait = writeWithBackpressure(stream, Buffer.from("cdef"));
    expect(wait).toBeInstanceOf(Promise);
    let drained = false;
    void wait!.then(() => (drained = true));
    next();
    await tick();
    expect(drained).toBe(false); // "cdef" is still buffered
    next();
    await tick();
    expect(drained).toBe(true);
    expect(received).toEqual(["ab", "cdef"]);
  });

  it("does not wait forever on a stream that is gone", async () => {
    const { stream } = slowWritable();
    const wait = writeWithBackpressure(stream, Buffer.from("abcdef"));
    stream.destroy();
    await expect(wait).resolves.toBeUndefined();
  });
});

describe("flushed", () => {
  it("resolves only once everything written has left", async () => {
    const { stream, received, next } = slowWritable();
    stream.write("ab");
    stream.write("cd");
    let done = false;
    void flushed(stream).then(() => (done = true));
    next();
    await tick();
    expect(done).toBe(false);
    next();
    await tick();
    next(); // the flush's own empty write
    await tick();
    expect(done).toBe(true);
    expect(received.join("")).toBe("abcd");
  });

  it("resolves at once when nothing is pending", async () => {
    const { stream } = slowWritable();
    await expect(flushed(stream)).resolves.toBeUndefined();
  });
});
