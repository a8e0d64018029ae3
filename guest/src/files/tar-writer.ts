/**
 * Writing a tar archive entry by entry with tar-stream, with backpressure: each write waits
 * while the archive's reader has not taken what came before, so memory stays at a few chunks
 * whatever the size of the tree.
 */
import { pack, type Pack } from "tar-stream";

/** What an entry's header may say (tar-stream fills in the rest). */
export type TarHeader = Parameters<Pack["entry"]>[0];

/** The part of a stream that drained() listens to. */
interface Emitter {
  readonly destroying: boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/** One archive being written; read `stream` to get its bytes. */
export class TarWriter {
  readonly stream: Pack = pack();

  /** Adds an entry without content (a directory or a symlink). */
  add(header: TarHeader): Promise<void> {
    return new Promise((ok, fail) => {
      this.stream.entry(header, (err) => (err ? fail(err) : ok()));
    });
  }

  /** Adds a file entry whose `header.size` bytes come from `chunks`, which must give exactly that many. */
  async addFile(header: TarHeader, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    let sink: ReturnType<Pack["entry"]> | undefined;
    // entry() throws at once on a destroyed archive: the promise then rejects and sink stays unset.
    const done = new Promise<void>((ok, fail) => {
      sink = this.stream.entry(header, (err) => (err ? fail(err) : ok()));
    });
    done.catch(() => {}); // awaited below; a failure before then must not go unhandled
    if (!sink) return done;
    for await (const chunk of chunks) {
      if (!sink.write(chunk)) await drained(sink);
    }
    sink.end(null);
    return done;
  }

  /** Ends the archive once the entries added so far are written. */
  finish(): void {
    this.stream.finalize();
  }

  /** Stops the archive: pending writes fail and its reader sees `err` (or its end). */
  destroy(err?: Error): void {
    this.stream.destroy(err ?? null);
  }

  /** The archive's bytes, as they are made. */
  bytes(): AsyncIterable<Uint8Array> {
    return this.stream as AsyncIterable<Uint8Array>;
  }
}

/** Resolves once `stream` takes writes again; rejects once it is closed instead. */
export function drained(stream: Emitter): Promise<void> {
  return new Promise((ok, fail) => {
    // Closed already: its 'close' has gone by.
    if (stream.destroying) return fail(new Error("the archive was closed"));
    const onDrain = () => {
      stream.off("close", onClose);
      ok();
    };
    const onClose = () => {
      stream.off("drain", onDrain);
      fail(new Error("the archive was closed"));
    };
    stream.once("drain", onDrain);
    stream.once("close", onClose);
  });
}
