/** `pyro run ENV [flags] -- CMD…`: one command in a fresh sandbox, output streamed live, the command's exit status. */
import { constants } from "node:os";
import { runResultJson } from "../../../sdk/src/json.js";
import { OPERATIONS } from "../../../sdk/src/operations.js";
import type { RunResult } from "../../../sdk/src/types.js";
import type { CommandModule } from "../context.js";
import { writeJson } from "../context.js";
import { writeWithBackpressure } from "../io.js";
import { addOperationArgs } from "../options.js";
import { PullProgressReporter } from "../progress.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { BACKEND_NAMES } from "../../../sdk/src/contract/backends.js";

const op = OPERATIONS.vm_run;

interface RunArgs {
  environment: string;
  command?: string[];
  "--"?: string[];
  vcpuCount: number;
  memMib: number;
  diskMib: number;
  timeoutSeconds: number;
  ttlSeconds: number;
  network: boolean;
  allowHostCompat: boolean;
  backend?: string;
}

/** The shell convention for a command ended by a signal: 128 + its number. */
export function exitStatus(r: Pick<RunResult, "exitCode" | "signal">): number {
  if (r.exitCode >= 0) return r.exitCode;
  const signo = (constants.signals as Record<string, number | undefined>)[r.signal];
  return signo ? 128 + signo : 1;
}

export const run: CommandModule<RunArgs> = {
  command: "run <environment> [command..]",
  describe: "Run one command in a fresh sandbox, stream its output, delete the sandbox, and exit with the command's status",
  builder: (y) =>
    addOperationArgs(y, op)
      .option("backend", {
        type: "string",
        choices: BACKEND_NAMES,
        describe: "Backend to run the sandbox on (default: $PYRO_BACKEND, else the best available; see `pyro doctor`)",
      })
      .example("$0 run debian:12 -- uname -a", "run a command (words after -- keep their boundaries)")
      .example("$0 run debian:12-build --timeout-seconds 120 -- make test", "allow two minutes")
      .example("$0 run debian:12 --json -- git --version", "print the result as JSON"),
  async handler(args) {
    const { ctx } = args;
    const { io } = ctx;
    const words = [...(args.command ?? []), ...(args["--"] ?? [])].map(String);
    if (words.length === 0) {
      throw new PyroError("invalid_argument", "no command given", { hint: "put the command after `--`, e.g. `pyro run debian:12 -- uname -a`" });
    }
    const json = args.json === true;
    const client = await ctx.client();
    const progress = new PullProgressReporter(io.stderr);
    try {
      const result = await client.run(args.environment, words, {
        vcpuCount: args.vcpuCount,
        memMib: args.memMib,
        diskMib: args.diskMib,
        timeoutSeconds: args.timeoutSeconds,
        ttlSeconds: args.ttlSeconds,
        network: args.network,
        allowHostCompat: args.allowHostCompat,
        backend: args.backend || io.env.PYRO_BACKEND || undefined,
        signal: io.signal,
        onProgress: (p) => progress.update(p),
        onStarted: () => progress.stop(),
        // Awaited by the client before it reads on: pyro reads only as fast as its reader does.
        onOutput: json ? undefined : (stream, data) => writeWithBackpressure(stream === "stderr" ? io.stderr : io.stdout, data),
      });
      progress.stop();
      if (json) writeJson(io, runResultJson(result));
      ctx.exitCode = exitStatus(result);
    } finally {
      progress.stop();
    }
  },
};
