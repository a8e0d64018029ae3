/** `pyro run ENV [flags] -- CMD…`: one command in a fresh sandbox, output streamed live, the command's exit status. */
import { constants } from "node:os";
import { PyroError } from "../../../sdk/src/errors.js";
import { OPERATIONS } from "../../../sdk/src/operations.js";
import type { RunResult } from "../../../sdk/src/types.js";
import type { CommandModule } from "../context.js";
import { writeJson } from "../context.js";
import { writeWithBackpressure } from "../io.js";
import { addOperationArgs, operationArgs, positionalsOf } from "../options.js";
import { PullProgressReporter } from "../progress.js";

const op = OPERATIONS.vm_run;

/** The shell convention for a command ended by a signal: 128 + its number. */
export function exitStatus(r: Pick<RunResult, "exitCode" | "signal">): number {
  if (r.exitCode >= 0) return r.exitCode;
  const signo = (constants.signals as Record<string, number | undefined>)[r.signal];
  return signo ? 128 + signo : 1;
}

export const run: CommandModule = {
  command: `run ${positionalsOf(op)}`,
  describe: "Run one command in a fresh sandbox, stream its output, delete the sandbox, and exit with the command's status",
  builder: (y) =>
    addOperationArgs(y, op)
      .example("$0 run debian:12 -- uname -a", "run a command (words after -- keep their boundaries)")
      .example("$0 run debian:12-build --timeout-seconds 120 -- make test", "allow two minutes")
      .example("$0 run debian:12 --json -- git --version", "print the result as JSON"),
  async handler(parsed) {
    const { ctx } = parsed;
    const { io } = ctx;
    const args = (await operationArgs(op, parsed)) as Parameters<typeof op.call>[1];
    if ((args.command as string[]).length === 0) {
      throw new PyroError("invalid_argument", "no command given", { hint: "put the command after `--`, e.g. `pyro run debian:12 -- uname -a`" });
    }
    args.backend ||= io.env.PYRO_BACKEND || undefined;
    const json = parsed.json === true;
    const client = await ctx.client();
    const progress = new PullProgressReporter(io.stderr);
    try {
      const result = await op.call(client, args, {
        signal: io.signal,
        onProgress: (p) => progress.update(p),
        onStarted: () => progress.stop(),
        // Awaited by the client before it reads on: pyro reads only as fast as its reader does.
        onOutput: json ? undefined : (stream, data) => writeWithBackpressure(stream === "stderr" ? io.stderr : io.stdout, data),
      });
      progress.stop();
      if (json) writeJson(io, op.json(result, args));
      ctx.exitCode = exitStatus(result);
    } finally {
      progress.stop();
    }
  },
};
