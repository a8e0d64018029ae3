/**
 * Starting the manager on demand: which command starts it, and how a client starts it in
 * the background. Waiting for it to answer is the client's job (it owns the connection).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultLogPath, defaultStateDir, socketPathProblem } from "./contract/paths.js";
import { PyroError } from "./errors.js";
import type { Env } from "./types.js";

/**
 * Finds the CLI bundle `dist/pyro.mjs` by walking up from `fromUrl`. Works from the entry
 * bundle (dist/pyro.mjs), from a code-split chunk (dist/chunks/*.mjs) and from the sources
 * (sdk/src/*.ts, where the repository root holds dist/).
 */
export function findCliBundle(fromUrl: string = import.meta.url): string | undefined {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (basename(dir) === "dist" && existsSync(join(dir, "pyro.mjs"))) return join(dir, "pyro.mjs");
    if (existsSync(join(dir, "dist", "pyro.mjs"))) return join(dir, "dist", "pyro.mjs");
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The argv that starts a manager serving `socketPath`. `PYRO_MANAGER_COMMAND` (a JSON array)
 * replaces the program part, `node dist/pyro.mjs`; `manager serve --socket PATH` is appended.
 */
export function managerCommand(env: Env, socketPath: string): string[] {
  // A manager that would refuse this path must not be started: the client would wait for it in vain.
  const problem = socketPathProblem(socketPath, defaultStateDir(env));
  if (problem) throw problem;
  const serve = ["manager", "serve", "--socket", socketPath];
  const override = env.PYRO_MANAGER_COMMAND;
  if (override) {
    let argv: unknown;
    try {
      argv = JSON.parse(override);
    } catch {
      argv = undefined;
    }
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string")) {
      throw new PyroError("invalid_argument", "PYRO_MANAGER_COMMAND must be a JSON array of strings, e.g. [\"node\",\"/opt/pyro/dist/pyro.mjs\"]", {
        hint: "fix or unset PYRO_MANAGER_COMMAND",
      });
    }
    return [...(argv as string[]), ...serve];
  }
  const bundle = findCliBundle();
  if (!bundle) {
    throw new PyroError("manager_unavailable", "no manager is running and the pyro CLI bundle (dist/pyro.mjs) to start one was not found", {
      hint: "run `npm run build`, start the manager with `pyro manager serve`, or set PYRO_MANAGER_COMMAND",
    });
  }
  return [process.execPath, bundle, ...serve];
}

/** Where an auto-started manager writes its log (for hints). */
export function managerLogPath(env: Env): string {
  return defaultLogPath(env);
}

/** How a background manager process ended, once it has. */
export interface SpawnedManager {
  /** Set when the process exited (or could not be spawned); describes how. */
  exit?: { at: number; how: string };
}

/**
 * Starts `argv` detached from this process (own session, no stdio), so it outlives the
 * client and a Ctrl-C in the client's terminal does not reach it.
 */
export async function spawnManager(argv: string[], env: Env): Promise<SpawnedManager> {
  const state: SpawnedManager = {};
  const [program, ...args] = argv as [string, ...string[]];
  let child: ChildProcess;
  try {
    child = spawn(program, args, { detached: true, stdio: "ignore", env: env as NodeJS.ProcessEnv });
  } catch (err) {
    state.exit = { at: Date.now(), how: `could not be spawned (${(err as Error).message})` };
    return state;
  }
  child.once("error", (err) => {
    state.exit = { at: Date.now(), how: `could not be spawned (${err.message})` };
  });
  child.once("exit", (code, signal) => {
    state.exit = { at: Date.now(), how: signal ? `was killed by ${signal}` : `exited with status ${code}` };
  });
  child.unref();
  return state;
}
