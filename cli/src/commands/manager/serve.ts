/** `pyro manager serve`: the manager in the foreground (what clients auto-start in the background). */
import { PyroError } from "../../../../sdk/src/errors.js";
import { VERSION } from "../../../../sdk/src/version.js";
import type { CommandModule } from "../../context.js";

/** Resolves when `signal` aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

export const serve: CommandModule<{ socket?: string }> = {
  command: "serve",
  describe: "Run the manager in the foreground until interrupted (clients start it on demand, so this is rarely needed by hand)",
  builder: (y) =>
    y.option("socket", {
      type: "string",
      requiresArg: true,
      describe: "Unix socket to serve the manager API on (default: $PYRO_MANAGER_SOCKET, else <state dir>/manager.sock)",
    }).example("$0 manager serve --debug", "run the manager in this terminal, logging more"),
  async handler({ ctx, socket, debug }) {
    const { io } = ctx;
    // Loaded here so that no other command pays for the manager's code.
    const [{ serveManager, AlreadyRunning }, { resolveConfig }] = await Promise.all([
      import("../../../../host/src/main.js"),
      import("../../../../host/src/config.js"),
    ]);
    let config;
    try {
      config = resolveConfig(io.env, { socketPath: socket, debug: debug ? true : undefined });
    } catch (err) {
      throw new PyroError("invalid_argument", (err as Error).message, { hint: "fix the PYRO_* environment variable it names" });
    }
    let server;
    try {
      server = await serveManager(config);
    } catch (err) {
      if (err instanceof AlreadyRunning) {
        throw new PyroError("manager_already_running", `a pyro manager${err.pid ? ` (pid ${err.pid})` : ""} already serves ${config.socketPath}`, { cause: err });
      }
      throw err;
    }
    io.stderr.write(`pyro manager ${VERSION} serving on ${config.socketPath} (log: ${config.logPath})\n`);
    await untilAborted(io.signal);
    await server.close();
  },
};
