/**
 * Exec: validate → resolve the working directory → spawn in a new process group → stream
 * events → map errors. On timeout (or when the caller goes away) the whole process group
 * is killed, so a command's children die with it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { ExecRequest, ExecResponse } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { ExecResponseSchema } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import { cut, echoInput } from "../../sdk/src/echo.js";
import { PyroError } from "../../sdk/src/errors.js";
import { OutputQueue } from "./output-queue.js";

export interface ExecOptions {
  /** Where commands run by default and what relative cwds resolve against. */
  workspaceDir: string;
  /** The clean environment every command starts from. */
  baseEnv: Record<string, string>;
  /** Bytes buffered before the pipes are paused. */
  highWaterBytes?: number;
  /** After the command exited, how long the pipes must be quiet before the agent stops reading them. */
  drainGraceMs?: number;
}

/** The base environment of every command: nothing inherited from the agent. */
export const BASE_ENV: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  LANG: "C.UTF-8",
  TERM: "dumb",
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validate(req: ExecRequest): string[] {
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

async function resolveCwd(cwd: string, workspaceDir: string): Promise<string> {
  const dir = cwd === "" ? workspaceDir : isAbsolute(cwd) ? cwd : resolve(workspaceDir, cwd);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new PyroError("invalid_argument", `working directory ${echoInput(dir)} does not exist in the sandbox`);
  return dir;
}

/** spawn(), with the kernel's refusal of an over-long argument or environment (E2BIG, thrown at once) as the caller's error. */
function spawnCommand(argv: string[], options: SpawnOptions): ChildProcess {
  try {
    return spawn(argv[0]!, argv.slice(1), options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "E2BIG") {
      throw new PyroError("invalid_argument", "the command's arguments or environment are too long for the kernel (E2BIG)", {
        hint: "keep each argument and each NAME=VALUE under 128 KiB, and all of them together under 1 MiB; pass large data on stdin",
      });
    }
    throw err;
  }
}

function spawned(child: ChildProcess, program: string): Promise<void> {
  return new Promise((ok, fail) => {
    child.once("spawn", ok);
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") fail(new PyroError("command_not_found", `command not found in the sandbox: ${cut(program)}`));
      else if (err.code === "EACCES") fail(new PyroError("command_not_found", `command is not executable in the sandbox: ${cut(program)}`));
      else fail(err);
    });
  });
}

/** Process groups of commands this agent started that may still have members. */
const groups = new Set<number>();

/** Kills every process group this agent started; the agent calls it before it exits. */
export function killAllGroups(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  groups.clear();
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

const event = (e: MessageInitShape<typeof ExecResponseSchema>["event"]): ExecResponse => create(ExecResponseSchema, { event: e });

export async function* exec(req: ExecRequest, signal: AbortSignal, opts: ExecOptions): AsyncGenerator<ExecResponse> {
  const argv = validate(req);
  const cwd = await resolveCwd(req.cwd, opts.workspaceDir);
  const started = performance.now();
  const child = spawnCommand(argv, {
    cwd,
    env: { ...opts.baseEnv, ...req.env },
    detached: true, // its own process group, so a timeout can kill every descendant
    stdio: [req.stdin.length > 0 ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.once("exit", (code, sig) => ok({ code, signal: sig })),
  );
  await spawned(child, argv[0]!);
  // Background processes may outlive the command; they are ended with the agent.
  if (child.pid !== undefined) groups.add(child.pid);
  if (child.stdin) {
    child.stdin.on("error", () => {}); // the command may exit without reading its input
    child.stdin.end(Buffer.from(req.stdin));
  }

  let timedOut = false;
  const timer =
    req.timeoutMs > 0n
      ? setTimeout(() => {
          timedOut = true;
          killGroup(child);
        }, Number(req.timeoutMs))
      : undefined;
  const onAbort = () => killGroup(child);
  signal.addEventListener("abort", onAbort);

  const queue = new OutputQueue(opts.highWaterBytes);
  queue.add("stdout", child.stdout!);
  queue.add("stderr", child.stderr!);
  // A background grandchild may hold the pipes open after the command exits: read on while
  // output comes (or waits for the reader), then stop.
  void exited.then(() => queue.detachWhenQuiet(opts.drainGraceMs ?? 250));

  try {
    yield event({ case: "started", value: { pid: child.pid ?? 0 } });
    for await (const chunk of queue.drain()) {
      yield event({
        case: "output",
        value: { stream: chunk.stream === "stdout" ? OutputStream.STDOUT : OutputStream.STDERR, data: chunk.data },
      });
    }
    const { code, signal: sig } = await exited;
    yield event({
      case: "exited",
      value: {
        exitCode: code ?? -1,
        signal: sig ?? "",
        durationMs: BigInt(Math.round(performance.now() - started)),
        timedOut,
      },
    });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    if (child.exitCode === null && child.signalCode === null) killGroup(child);
  }
}
