/**
 * The agent's table of processes. Each gets an id (never reused while the agent runs, unlike
 * a pid) and stays in the table after it ends, so a caller that lost its stream can still
 * read the rest of its output and its exit; the oldest ended ones are dropped past a bound.
 */
import { PyroError } from "../../../sdk/src/errors.js";
import { commandArgv, resolveCwd, spawnCommand, type CommandRequest } from "./command.js";
import { ManagedProcess, signalGroup } from "./managed-process.js";

export interface ProcessTableOptions {
  /** Where commands run by default and what relative cwds resolve against. */
  workspaceDir: string;
  /** The clean environment every command starts from. */
  baseEnv: Record<string, string>;
  /** Bytes of output kept per stream when a start asks for no other amount. */
  defaultBufferBytes?: number;
  /** Ended processes kept for a late Connect; the oldest go first. */
  maxEnded?: number;
  /** Output bytes the ended processes may keep in all (their rings are in the sandbox's memory); the oldest go first. */
  maxEndedBytes?: number;
  /** After a process exited, how long its pipes must be quiet before the agent stops reading them. */
  drainGraceMs?: number;
}

/** What a start asks for, beyond the command. */
export interface StartSpec extends CommandRequest {
  /** Bytes written to standard input first. */
  stdin: Uint8Array;
  /** Keep standard input open after `stdin` (for SendInput). */
  stdinOpen: boolean;
  /** 0 means no timeout. */
  timeoutMs: number;
  tag: string;
  /** 0 means the table's default. */
  bufferBytes: number;
}

export const DEFAULT_BUFFER_BYTES = 1 << 20;
/** Rings are at least this large, so a reader's backpressure (PAUSE_HEADROOM below the top) starts at a useful lag. */
const MIN_BUFFER_BYTES = 256 << 10;
const MAX_BUFFER_BYTES = 16 << 20;
const TAG_MAX_BYTES = 128;

export class ProcessTable {
  readonly #o: Required<ProcessTableOptions>;
  readonly #processes = new Map<number, ManagedProcess>();
  /** Ids of ended processes still in the table, oldest first. */
  readonly #ended: number[] = [];
  /** Process groups this agent started, which may still have members (background children). */
  readonly #groups = new Set<number>();
  #nextId = 1;

  constructor(o: ProcessTableOptions) {
    this.#o = { defaultBufferBytes: DEFAULT_BUFFER_BYTES, maxEnded: 32, maxEndedBytes: 8 << 20, drainGraceMs: 250, ...o };
  }

  get workspaceDir(): string {
    return this.#o.workspaceDir;
  }

  /** Checks `spec`, spawns it in a new process group and adds it to the table. */
  async start(spec: StartSpec): Promise<ManagedProcess> {
    const argv = commandArgv(spec);
    if (Buffer.byteLength(spec.tag) > TAG_MAX_BYTES) throw new PyroError("invalid_argument", `a tag may be at most ${TAG_MAX_BYTES} bytes`);
    const bufferBytes = spec.bufferBytes === 0 ? this.#o.defaultBufferBytes : spec.bufferBytes;
    if (bufferBytes > MAX_BUFFER_BYTES) throw new PyroError("invalid_argument", `output_buffer_bytes may be at most ${MAX_BUFFER_BYTES}`);
    const cwd = await resolveCwd(spec.cwd, this.#o.workspaceDir);
    const withStdin = spec.stdin.length > 0 || spec.stdinOpen;
    const startedAt = performance.now();
    const child = await spawnCommand(argv, {
      cwd,
      env: { ...this.#o.baseEnv, ...spec.env },
      detached: true, // its own process group, so a timeout or a signal reaches every descendant
      stdio: [withStdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    this.#groups.add(child.pid!);
    const proc = new ManagedProcess({
      id: this.#nextId++,
      argv,
      tag: spec.tag,
      child,
      startedAt,
      bufferBytes: Math.max(MIN_BUFFER_BYTES, bufferBytes),
      timeoutMs: spec.timeoutMs,
      drainGraceMs: this.#o.drainGraceMs,
      onFinish: (p) => this.#finished(p),
    });
    this.#processes.set(proc.id, proc);
    if (child.stdin) {
      if (spec.stdin.length > 0) child.stdin.write(spec.stdin);
      if (!spec.stdinOpen) child.stdin.end();
    }
    return proc;
  }

  /** The process with `id`; invalid_argument when the table has none (never started, or ended long ago). */
  get(id: number | bigint): ManagedProcess {
    const proc = this.#processes.get(Number(id));
    if (!proc) throw new PyroError("invalid_argument", `no process ${String(id)} in this sandbox (it never ran here, or ended long enough ago to be forgotten)`);
    return proc;
  }

  /** Every process in the table, oldest first. */
  list(): ManagedProcess[] {
    return [...this.#processes.values()];
  }

  /** Kills every process group this agent started; the agent calls it before it exits. */
  killAll(): void {
    for (const pgid of this.#groups) signalGroup(pgid, "SIGKILL");
    this.#groups.clear();
  }

  #finished(p: ManagedProcess): void {
    this.#ended.push(p.id);
    const kept = (id: number) => {
      const q = this.#processes.get(id);
      return q ? q.rings.stdout.size + q.rings.stderr.size : 0;
    };
    let bytes = this.#ended.reduce((n, id) => n + kept(id), 0);
    // The one that just ended stays, whatever it keeps: its caller may still be reading it.
    while (this.#ended.length > this.#o.maxEnded || (bytes > this.#o.maxEndedBytes && this.#ended.length > 1)) {
      const id = this.#ended.shift()!;
      bytes -= kept(id);
      const old = this.#processes.get(id);
      this.#processes.delete(id);
      // A group with no members left needs no killing at exit (and its id may be reused).
      if (old && !signalGroup(old.pid, 0)) this.#groups.delete(old.pid);
    }
  }
}
