/**
 * What every process start shares: the request's command checked and resolved (argv or a
 * shell line, environment names, the working directory), and spawn() with the kernel's and
 * the filesystem's refusals turned into the caller's errors.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { cut, echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";

/** The base environment of every command: nothing inherited from the agent. */
export const BASE_ENV: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  LANG: "C.UTF-8",
  TERM: "dumb",
};

/** The command part of a start request (ExecRequest and StartRequest both have it). */
export interface CommandRequest {
  argv: string[];
  shellCommand: string;
  cwd: string;
  env: { [key: string]: string };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The argv to run; throws invalid_argument for a request that names no command, or a malformed one. */
export function commandArgv(req: CommandRequest): string[] {
  const hasArgv = req.argv.length > 0;
  const hasShell = req.shellCommand !== "";
  if (hasArgv === hasShell) throw new PyroError("invalid_argument", "give either argv or shell_command, not both or neither");
  if (hasArgv && req.argv[0] === "") throw new PyroError("invalid_argument", "argv[0] is empty");
  for (const name of Object.keys(req.env)) {
    if (!ENV_NAME.test(name)) throw new PyroError("invalid_argument", `environment variable name ${echoInput(name)} is not valid`);
  }
  for (const s of [...req.argv, req.shellCommand, ...Object.values(req.env)]) {
    if (s.includes("\0")) throw new PyroError("invalid_argument", "command and environment must not contain NUL bytes");
  }
  return hasArgv ? req.argv : ["/bin/sh", "-c", req.shellCommand];
}

/** The working directory: `cwd` against the workspace, which must exist. */
export async function resolveCwd(cwd: string, workspaceDir: string): Promise<string> {
  const dir = cwd === "" ? workspaceDir : isAbsolute(cwd) ? cwd : resolve(workspaceDir, cwd);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new PyroError("invalid_argument", `working directory ${echoInput(dir)} does not exist in the sandbox`);
  return dir;
}

/**
 * Spawns `argv` and resolves once the process exists; the kernel's refusal of an over-long
 * argument or environment (E2BIG) and a missing or unrunnable program become the caller's errors.
 */
export async function spawnCommand(argv: string[], options: SpawnOptions): Promise<ChildProcess> {
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "E2BIG") {
      throw new PyroError("invalid_argument", "the command's arguments or environment are too long for the kernel (E2BIG)", {
        hint: "keep each argument and each NAME=VALUE under 128 KiB, and all of them together under 1 MiB; pass large data on stdin",
      });
    }
    throw err;
  }
  await new Promise<void>((ok, fail) => {
    child.once("spawn", ok);
    child.once("error", (err: NodeJS.ErrnoException) => {
      const program = cut(argv[0]!);
      if (err.code === "ENOENT") fail(new PyroError("command_not_found", `command not found in the sandbox: ${program}`));
      else if (err.code === "EACCES") fail(new PyroError("command_not_found", `command is not executable in the sandbox: ${program}`));
      else fail(err);
    });
  });
  return child;
}
