/**
 * The agent runtime: Node, the shared libraries it links, and the bundled agent, laid out
 * in one directory that every sandbox gets read-only at /opt/pyro. It is not baked into
 * environments, so an environment never goes stale when the agent changes, and it does not
 * depend on the environment's own libraries: the agent starts through the runtime's own
 * dynamic loader.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { unixTransport } from "../../../sdk/src/transport.js";
import { handshakeAgent, waitForReady } from "../backends/agent-process.js";
import { RUNTIME_FILES } from "../backends/namespace/sandbox-launch.js";
import type { Logger } from "../logger.js";

const run = promisify(execFile);

/** Bumped when the runtime directory's layout or modes change, so an older one is not reused. */
const LAYOUT_VERSION = 3;

export interface AgentRuntime {
  /** Host directory holding bin/node, lib/, agent.mjs. */
  dir: string;
  /** Argv that starts the agent, with paths as seen from `mountPoint`. */
  command(mountPoint: string, args: string[]): string[];
}

/** Finds dist/agent.mjs: beside the running bundle, or under dist/ of an ancestor (sources, tests). */
export function findAgentBundle(env: Record<string, string | undefined>, from = import.meta.url): string {
  if (env.PYRO_AGENT_BUNDLE) return env.PYRO_AGENT_BUNDLE;
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    for (const candidate of [join(dir, "agent.mjs"), join(dir, "dist", "agent.mjs")]) {
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new PyroError("internal", "the guest agent bundle (dist/agent.mjs) is missing", { hint: "run `npm run build`" });
}

/** Shared libraries `binary` links, and its dynamic loader, from ldd. */
async function sharedLibraries(binary: string): Promise<{ loader: string; libs: string[] }> {
  const { stdout } = await run("ldd", [binary]);
  let loader = "";
  const libs: string[] = [];
  for (const line of stdout.split("\n")) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    if (arrow?.[1]) libs.push(arrow[1]);
    else if (bare?.[1]) loader = bare[1];
  }
  if (!loader) throw new PyroError("internal", `cannot find the dynamic loader of ${binary}`);
  return { loader, libs };
}

function agentCommand(loaderName: string): AgentRuntime["command"] {
  return (mount, args) => [join(mount, "lib", loaderName), "--library-path", join(mount, "lib"), join(mount, "bin", "node"), join(mount, "agent.mjs"), ...args];
}

/**
 * Runs the agent once on the host, in the runtime directory being laid out, through the
 * same handshake every sandbox's agent gets, so that its launcher writes a V8 code cache
 * that covers the request path. Every sandbox's agent then starts from it. Best effort: without it agents start
 * slower, not differently.
 */
async function warmCodeCache(dir: string, command: AgentRuntime["command"]): Promise<void> {
  const socket = join(dir, "warm.sock");
  const argv = command(dir, ["--socket", socket, "--workspace", dir]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((r) => child.once("exit", r));
  try {
    await waitForReady(child, 15_000);
    const conn = unixTransport(socket);
    try {
      await handshakeAgent(createClient(AgentService, conn.transport));
    } finally {
      conn.close();
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
    await rm(socket, { force: true });
  }
}

/** Hard-links when it can (same filesystem, no copy of a 100 MB binary), copies otherwise. */
async function place(src: string, dest: string): Promise<void> {
  try {
    await link(src, dest);
  } catch {
    await copyFile(src, dest);
  }
}

/**
 * Lays out the runtime under `<cacheDir>/runtime/<key>` (key = hash of the Node binary's
 * identity and the agent bundle), once; later calls reuse it.
 */
export async function prepareAgentRuntime(
  cacheDir: string,
  agentBundle: string,
  opts: { log?: Logger; nodeBinary?: string } = {},
): Promise<AgentRuntime> {
  const nodeBinary = opts.nodeBinary ?? process.execPath;
  // The launcher (agent.mjs) runs the bundle beside it (agent.cjs).
  const agent = await readFile(agentBundle);
  const agentCjs = await readFile(agentBundle.replace(/\.mjs$/, ".cjs"));
  const nodeStat = await stat(nodeBinary);
  const key = createHash("sha256")
    .update(`layout ${LAYOUT_VERSION}\0`)
    .update(`${nodeBinary}\0${nodeStat.size}\0${nodeStat.mtimeMs}\0${process.version}\0`)
    .update(agent)
    .update(agentCjs)
    .digest("hex")
    .slice(0, 16);
  const dir = join(cacheDir, "runtime", key);
  const { loader } = existsSync(join(dir, "ready")) ? { loader: (await readFile(join(dir, "ready"), "utf8")).trim() } : await build();
  return { dir, command: agentCommand(basename(loader)) };

  async function build(): Promise<{ loader: string }> {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(join(tmp, "bin"), { recursive: true });
    await mkdir(join(tmp, "lib"), { recursive: true });
    const { loader, libs } = await sharedLibraries(nodeBinary);
    await place(nodeBinary, join(tmp, "bin", "node"));
    for (const lib of [loader, ...libs]) await copyFile(lib, join(tmp, "lib", basename(lib)));
    // The agent is started through the loader, so the loader is the file the kernel execs:
    // execute-only, nobody can read it, and a process exec'd from a file it cannot read is
    // not dumpable. Commands in the sandbox then cannot ptrace the agent, read its memory,
    // environment or fds, or take its connection to the host (pidfd_getfd).
    await chmod(join(tmp, "lib", basename(loader)), 0o111);
    // What sandboxes bind over masked /proc paths and /etc/resolv.conf: files on the runtime's
    // own read-only mount, so no host path shows in the sandbox's mount table.
    await writeFile(join(tmp, RUNTIME_FILES.emptyFile), "", { mode: 0o444 });
    await mkdir(join(tmp, RUNTIME_FILES.emptyDir), { mode: 0o555 });
    await writeFile(join(tmp, RUNTIME_FILES.resolvConf), "nameserver 10.0.2.3\n", { mode: 0o444 });
    await writeFile(join(tmp, "agent.mjs"), agent);
    await writeFile(join(tmp, "agent.cjs"), agentCjs);
    // Sandboxes mount the runtime read-only, so the agent's code cache is made here, once.
    await warmCodeCache(tmp, agentCommand(basename(loader))).catch((err) => opts.log?.warn("agent code cache not made", { error: err }));
    await writeFile(join(tmp, "ready"), loader + "\n");
    // Readable and traversable by the unprivileged sandbox uid; writable by nobody.
    for (const p of [tmp, join(tmp, "bin"), join(tmp, "lib")]) await chmod(p, 0o755);
    await chmod(dirname(tmp), 0o755);
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another manager laid it out first; theirs is as good as ours.
      await rm(tmp, { recursive: true, force: true });
      if (!existsSync(join(dir, "ready"))) throw err;
    }
    return { loader };
  }
}
