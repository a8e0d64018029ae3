/**
 * The CLI as a function of (argv, io): `buildCli` wires yargs with every command module;
 * `run()` parses, runs the command and reports any failure through the one failure
 * handler, resolving with the exit status. Handlers never exit the process.
 */
import yargs, { type Argv } from "yargs";
import { VERSION } from "../../sdk/src/version.js";
import { COMMANDS, isGroup, TOP_LEVEL_EXAMPLES, type CommandGroup, type Example } from "./commands/index.js";
import { CliContext, type AnyCommand } from "./context.js";
import { reportFailure, usageError, type FailureOptions } from "./failure.js";
import type { CliIo } from "./io.js";

export interface Cli {
  /** The configured yargs instance. */
  parser: Argv;
  context: CliContext;
  /** Parses `argv`, runs the command, reports failures; resolves with the exit status. */
  run(): Promise<number>;
}

function firstWord(command: string): string {
  return command.split(" ")[0] ?? command;
}

/** The command words of `argv` that name commands (for "run `pyro workspace file read --help`" hints). */
export function commandPath(argv: readonly string[]): string[] {
  const words = argv.filter((a) => !a.startsWith("-"));
  const path: string[] = [];
  let level: readonly (AnyCommand | CommandGroup)[] = COMMANDS;
  for (const word of words) {
    const c = level.find((x) => (isGroup(x) ? x.noun : firstWord(x.command)) === word);
    if (!c) break;
    path.push(word);
    if (!isGroup(c)) break;
    level = c.verbs;
  }
  return path;
}

/** --json / --debug as given before `--`, read without the parser (which may be what failed). */
export function globalFlags(argv: readonly string[]): FailureOptions {
  const end = argv.indexOf("--");
  const own = end === -1 ? argv : argv.slice(0, end);
  const flag = (name: string) => {
    let on = false;
    for (const a of own) {
      if (a === `--${name}` || a === `--${name}=true`) on = true;
      else if (a === `--no-${name}` || a === `--${name}=false`) on = false;
    }
    return on;
  };
  return { json: flag("json"), debug: flag("debug") };
}

/**
 * After parsing a command, yargs renders the whole help text only to cache it for a
 * handler that might call showHelp(): 20-30 ms on every `pyro run`. pyro's handlers never
 * do, so the cache is skipped. Guarded: should yargs' internals change, help still works
 * and only the time comes back.
 */
function skipHelpCache(y: Argv): void {
  const internals = (y as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.();
  const usage = internals?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === "function") usage.cacheHelpMessage = () => {};
}

function withExamples(y: Argv, examples: readonly Example[]): Argv {
  for (const [command, what] of examples) y = y.example(command, what);
  return y;
}

/** The CLI for one invocation: `argv` without node and script, `io` the streams, environment and client factory. */
export function buildCli(argv: string[], io: CliIo): Cli {
  const context = new CliContext(io);
  let matched: AnyCommand | undefined;

  // A command's builder runs only when that command is the one being parsed, so it records
  // the match, and run() calls the handler itself once parsing has succeeded (yargs would
  // run handlers inside parse(), mixing their failures with usage errors).
  const register = <T>(on: Argv<T>, mod: AnyCommand): Argv<T> =>
    on.command(mod.command, mod.describe, (b) => {
      matched = mod;
      return mod.builder(b);
    });

  let y: Argv = yargs(argv)
    .scriptName("pyro")
    .locale("en")
    .parserConfiguration({ "populate--": true })
    .usage("$0 <command> [options]\n\nDisposable, isolated Linux sandboxes for coding agents.")
    .option("json", { type: "boolean", global: true, describe: "Print the result (or the error) as JSON on stdout" })
    .option("debug", { type: "boolean", global: true, describe: "Show stack traces of internal errors" });
  // A group's subcommands are registered only when the group is the one being parsed.
  const registerAll = (on: Argv, entries: readonly (AnyCommand | CommandGroup)[], path: string[]): Argv => {
    for (const c of entries) {
      if (!isGroup(c)) {
        on = register(on, c);
        continue;
      }
      const words = c.verbs.map((v) => (isGroup(v) ? v.noun : firstWord(v.command))).join(", ");
      on = on.command(c.noun, c.describe, (g) => withExamples(registerAll(g, c.verbs, [...path, c.noun]), c.examples).demandCommand(1, `pyro ${[...path, c.noun].join(" ")}: name a subcommand (${words})`));
    }
    return on;
  };
  y = withExamples(registerAll(y, COMMANDS, []), TOP_LEVEL_EXAMPLES);
  y = y
    .demandCommand(1, "name a command (run, workspace, env, doctor, mcp, manager)")
    .strict()
    .version("version", "Show pyro's version", `pyro ${VERSION}`)
    .help("help")
    .alias("help", "h")
    .wrap(Math.min(io.stdout.columns ?? 100, 100))
    .epilog("Environment: PYRO_MANAGER_SOCKET selects the manager; PYRO_BACKEND the default backend; PYRO_STATE_DIR and PYRO_CACHE_DIR where state and environments live.")
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail(false);

  skipHelpCache(y);

  return {
    parser: y,
    context,
    async run() {
      const flags = globalFlags(argv);
      try {
        let output = "";
        let args: Record<string, unknown>;
        try {
          args = await y.parseAsync(argv, {}, (_err, _args, out) => {
            output = out ?? "";
          });
        } catch (err) {
          return reportFailure(usageError(err, commandPath(argv)), io, flags);
        }
        // --help and --version text.
        if (output) {
          io.stdout.write(output.endsWith("\n") ? output : output + "\n");
          return 0;
        }
        if (!matched) return reportFailure(usageError(new Error("name a command"), []), io, flags);
        try {
          await matched.handler({ ...args, ctx: context });
        } catch (err) {
          return reportFailure(err, io, flags);
        }
        return context.exitCode;
      } finally {
        await context.close();
      }
    },
  };
}

/** Runs the CLI once; resolves with the exit status. */
export function runCli(argv: string[], io: CliIo): Promise<number> {
  return buildCli(argv, io).run();
}
