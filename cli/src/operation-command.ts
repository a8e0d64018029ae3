/**
 * A CLI command made from an entry of the operations table: positionals, flags, help and
 * checks come from the entry; the handler calls the entry's SDK binding and prints its JSON
 * rendering (`--json`) or a human rendering. Commands with their own ways (streaming, exit
 * status, raw output) say so through the hooks, not with a handler of their own.
 */
import type { Argv } from "yargs";
import type { AnyOperation } from "../../sdk/src/operations/spec.js";
import type { CommandModule, HandlerArgs } from "./context.js";
import { writeJson } from "./context.js";
import { writeWithBackpressure, type CliIo } from "./io.js";
import { addOperationArgs, operationArgs, positionalsOf } from "./options.js";
import { PullProgressReporter } from "./progress.js";

/** What a human rendering gets. */
export interface HumanOutput<R> {
  result: R;
  /** The operation's arguments as parsed. */
  args: Record<string, unknown>;
  /** The parsed command line, CLI-only flags included. */
  parsed: Record<string, unknown>;
  io: CliIo;
  /** The entry's summary of the result. */
  summary(): string;
}

export interface OperationCommandOptions<R> {
  /** The command's word, e.g. `create`; the positionals are appended from the table. */
  verb: string;
  /** Shown in the parent's command list and atop the command's help (default: the entry's description). */
  describe?: string;
  /** At least one `pyro …` example with what it does. */
  examples: readonly (readonly [string, string])[];
  /** Flags only the CLI has (e.g. `--id-only`). */
  builder?: (y: Argv) => Argv;
  /** Human output (default: the entry's summary, one line or a few). */
  human?: (out: HumanOutput<R>) => void | Promise<void>;
  /** The exit status for a result (default 0). */
  exitCode?: (result: R) => number;
  /** Stream the command's live output to stdout/stderr (unless --json). */
  streamOutput?: boolean;
  /** Human detail of a failure, written before the one failure line (not with --json, whose error carries its data). */
  explainFailure?: (err: unknown, io: CliIo) => void;
}

/** A command module for `op`. */
export function operationCommand<R>(op: AnyOperation, o: OperationCommandOptions<R>): CommandModule {
  const positionals = positionalsOf(op);
  return {
    command: positionals ? `${o.verb} ${positionals}` : o.verb,
    describe: o.describe ?? op.description,
    builder: (y) => {
      let b = addOperationArgs(y, op);
      if (o.builder) b = o.builder(b);
      for (const [example, what] of o.examples) b = b.example(example, what);
      return b;
    },
    async handler(parsed: HandlerArgs<Record<string, unknown>>) {
      const { ctx } = parsed;
      const { io } = ctx;
      const args = await operationArgs(op, parsed);
      // As its description says: a backend flag defaults to $PYRO_BACKEND (the client's, whatever the manager was started with).
      if (op.params.some((p) => p.name === "backend")) args.backend ||= io.env.PYRO_BACKEND || undefined;
      const json = parsed.json === true;
      const client = await ctx.client();
      const progress = new PullProgressReporter(io.stderr);
      let result: R;
      try {
        result = (await op.call(client, args, {
          signal: io.signal,
          onProgress: (p) => progress.update(p),
          onStarted: () => progress.stop(),
          onOutput: o.streamOutput && !json ? (stream, data) => writeWithBackpressure(stream === "stderr" ? io.stderr : io.stdout, data) : undefined,
        })) as R;
      } catch (err) {
        progress.stop();
        if (!json) o.explainFailure?.(err, io);
        throw err;
      } finally {
        progress.stop();
      }
      if (json) writeJson(io, op.json(result, args));
      else if (o.human) await o.human({ result, args, parsed, io, summary: () => op.summary(op.json(result, args)) });
      else io.stdout.write(withNewline(op.summary(op.json(result, args))));
      ctx.exitCode = o.exitCode?.(result) ?? 0;
    },
  };
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : text + "\n";
}
