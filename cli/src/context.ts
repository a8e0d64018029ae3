/** Per-invocation state the command handlers share: io, the lazily made client, the exit code. */
import type { PyroClient } from "../../sdk/src/types.js";
import type { CliIo } from "./io.js";

export class CliContext {
  /** The process exit status once the command is done. */
  exitCode = 0;
  #client: Promise<PyroClient> | undefined;

  constructor(readonly io: CliIo) {}

  /** The manager client, made on first use (commands that need no manager never load the SDK). */
  client(): Promise<PyroClient> {
    this.#client ??= Promise.resolve(this.io.createClient({ env: this.io.env }));
    return this.#client;
  }

  /** Closes the client if one was made. */
  async close(): Promise<void> {
    if (!this.#client) return;
    try {
      (await this.#client).close();
    } catch {
      // Making the client failed; that error was already reported.
    }
  }
}

/** Options every command has. */
export interface GlobalArgs {
  json?: boolean;
  debug?: boolean;
}

/** What a command handler receives: its parsed arguments plus the context. */
export type HandlerArgs<A> = A & GlobalArgs & { ctx: CliContext };

/** One CLI command: a module per command, `cli/src/commands/<noun>/<verb>.ts`. */
export interface CommandModule<A = Record<string, unknown>> {
  command: string;
  describe: string;
  // yargs' builder types track every option added; a registry cannot use that precision.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  builder: (y: import("yargs").Argv) => import("yargs").Argv<any>;
  handler: (args: HandlerArgs<A>) => Promise<void>;
}

/** A command of whatever argument shape, for registries (each module is typed by its own arguments). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any>;

/** Writes one JSON document and a newline. */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
