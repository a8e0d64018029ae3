import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import { OutputStream } from "../../proto/gen/pyro/common/v1/exec_pb.js";
import { EnvironmentSchema, PullPhase } from "../../proto/gen/pyro/manager/v1/environment_pb.js";
import { EnvironmentService } from "../../proto/gen/pyro/manager/v1/environment_service_pb.js";
import { RunService, type RunRequest, type RunResponse } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { CheckStatus, SystemService } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RunResponseSchema } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { Pyro } from "./client.js";
import { PyroError, toConnectError } from "./errors.js";
import { OUTPUT_LIMIT_BYTES } from "./capped-output.js";
import type { RunTimeoutData } from "./types.js";

type RunScript = (req: RunRequest, ctx: HandlerContext) => AsyncGenerator<MessageInitShape<typeof RunResponseSchema>>;

let dir: string;
let socketPath: string;
let server: Http2Server;
const sessions = new Set<ServerHttp2Session>();
let runScript: RunScript;
let lastRun: RunRequest | undefined;
const clients: Pyro[] = [];

function client(opts: ConstructorParameters<typeof Pyro>[0] = {}): Pyro {
  const c = new Pyro({ socketPath, autoStart: false, env: {}, ...opts });
  clients.push(c);
  return c;
}

const env12 = create(EnvironmentSchema, {
  name: "debian:12",
  version: "1",
  description: "Debian 12",
  installed: true,
  packages: ["bash"],
  manifest: { path: "/cache/debian-12", rootfsDigest: "ab", sizeBytes: 5n << 30n, packageCount: 99, createdAt: "2026-01-01T00:00:00Z", source: "build", mirror: "http://m", installedPackages: ["bash=5"] },
});

function routes(router: ConnectRouter) {
  router.service(RunService, {
    async *run(req, ctx) {
      lastRun = req;
      try {
        yield* runScript(req, ctx);
      } catch (err) {
        throw toConnectError(err);
      }
    },
  });
  router.service(EnvironmentService, {
    listEnvironments: () => ({ environments: [env12, create(EnvironmentSchema, { name: "debian:12-base", version: "1", installed: false })] }),
    async *pullEnvironment(req) {
      yield { event: { case: "progress", value: { environment: req.name, phase: PullPhase.DOWNLOAD, message: "fetching", elapsedMs: 12n } } };
      yield { event: { case: "environment", value: env12 } };
    },
    inspectEnvironment: (req) => {
      if (req.name !== "debian:12") throw toConnectError(new PyroError("environment_not_found", `unknown environment "${req.name}"`, { hint: "pick another" }));
      return { environment: env12 };
    },
    pruneEnvironments: (req) => ({ removedPaths: req.all ? ["/a", "/b"] : ["/a"], freedBytes: 1234n, kept: [{ path: "/c", reason: "in use by 1 running sandbox" }] }),
  });
  router.service(SystemService, {
    getVersion: () => ({ version: "9.9.9", pid: 42, uptimeSeconds: 7n }),
    doctor: () => {
      throw new Error("secret internal detail");
    },
  });
}

function output(stream: OutputStream, data: string | Uint8Array): MessageInitShape<typeof RunResponseSchema> {
  return { event: { case: "output", value: { stream, data: typeof data === "string" ? Buffer.from(data) : data } } };
}

const wireLimits = {
  vcpuCount: { value: 1n, enforced: true, detail: "cgroup v1: CPU time quota" },
  memMib: { value: 1024n, enforced: true, detail: "cgroup v1: memory limit" },
  diskMib: { value: 4096n, enforced: false, detail: "mounting a filesystem image needs a manager running as root" },
  pids: { value: 1024n, enforced: true, detail: "cgroup v1: process limit" },
};
const limits = {
  vcpuCount: { value: 1, enforced: true, detail: "cgroup v1: CPU time quota" },
  memMib: { value: 1024, enforced: true, detail: "cgroup v1: memory limit" },
  diskMib: { value: 4096, enforced: false, detail: "mounting a filesystem image needs a manager running as root" },
  pids: { value: 1024, enforced: true, detail: "cgroup v1: process limit" },
};
const started = { event: { case: "started" as const, value: { sandboxId: "sb-1", executionMode: "namespace", environment: "debian:12", pid: 7, seccomp: "pyro-default/x86_64", limits: wireLimits } } };
const exited = (exitCode = 0, signal = "") => ({ event: { case: "exited" as const, value: { exitCode, signal, durationMs: 15n, totalMs: 80n, executionMode: "namespace" } } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pyro-sdk-test-"));
  socketPath = join(dir, "manager.sock");
  server = createServer(connectNodeAdapter({ routes }));
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((ok) => server.listen(socketPath, ok));
});

afterEach(() => {
  while (clients.length) clients.pop()?.close();
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Pyro.run", () => {
  it("sends argv or a shell command and returns the typed result", async () => {
    runScript = async function* () {
      yield started;
      yield output(OutputStream.STDOUT, "hello\n");
      yield output(OutputStream.STDERR, "warn\n");
      yield exited(3);
    };
    const pyro = client();
    const r = await pyro.run("debian:12", ["sh", "-c", "echo a b"], { timeoutSeconds: 5, network: true, env: { A: "1" }, stdin: "in" });
    expect(lastRun?.argv).toEqual(["sh", "-c", "echo a b"]);
    expect(lastRun?.shellCommand).toBe("");
    expect(lastRun?.timeoutSeconds).toBe(5);
    expect(lastRun?.vcpuCount).toBe(0); // unset: the manager's default
    expect(lastRun?.network).toBe(true);
    expect(lastRun?.env).toEqual({ A: "1" });
    expect(Buffer.from(lastRun?.stdin ?? []).toString()).toBe("in");
    expect(r).toEqual({
      environment: "debian:12",
      executionMode: "namespace",
      sandboxId: "sb-1",
      seccomp: "pyro-default/x86_64",
      limits,
      exitCode: 3,
      signal: "",
      durationMs: 15,
      totalMs: 80,
      stdout: "hello\n",
      stderr: "warn\n",
      stdoutTruncated: false,
      stderrTruncated: false,
    });

    await pyro.run("debian:12", "echo $HOME");
    expect(lastRun?.argv).toEqual([]);
    expect(lastRun?.shellCommand).toBe("echo $HOME");
  });

  it("streams every chunk to onOutput but keeps 1 MiB per stream, decoded once", async () => {
    const euro = Buffer.from("€"); // 3 bytes, split across chunks below
    runScript = async function* () {
      yield started;
      yield output(OutputStream.STDOUT, euro.subarray(0, 1));
      yield output(OutputStream.STDOUT, euro.subarray(1));
      yield output(OutputStream.STDERR, Buffer.alloc(OUTPUT_LIMIT_BYTES - 1, "x"));
      yield output(OutputStream.STDERR, euro); // crosses the limit mid-character
      yield exited(0);
    };
    const seen: Record<string, number> = { stdout: 0, stderr: 0 };
    const progress: string[] = [];
    const r = await client().run("debian:12", ["x"], {
      onOutput: (s, d) => {
        seen[s] = (seen[s] ?? 0) + d.length;
      },
      onProgress: (p) => progress.push(p.phase),
    });
    expect(r.stdout).toBe("€");
    expect(r.stdoutTruncated).toBe(false);
    expect(seen).toEqual({ stdout: 3, stderr: OUTPUT_LIMIT_BYTES + 2 });
    expect(r.stderrTruncated).toBe(true);
    expect(r.stderr.length).toBe(OUTPUT_LIMIT_BYTES - 1); // the cut character is dropped, not U+FFFD
    expect(r.stderr.endsWith("x")).toBe(true);
  });

  it("reports install progress and the start", async () => {
    runScript = async function* () {
      yield { event: { case: "progress", value: { environment: "debian:12", phase: PullPhase.EXTRACT, message: "unpacking", elapsedMs: 1500n } } };
      yield started;
      yield exited(0);
    };
    const events: unknown[] = [];
    await client().run("debian:12", ["true"], { onProgress: (p) => events.push(p), onStarted: (s) => events.push(s) });
    expect(events).toEqual([
      { environment: "debian:12", phase: "extract", message: "unpacking", elapsedMs: 1500 },
      { sandboxId: "sb-1", executionMode: "namespace", environment: "debian:12", pid: 7, seccomp: "pyro-default/x86_64", limits },
    ]);
  });

  it("turns a server timeout into a timeout PyroError with the partial output", async () => {
    runScript = async function* () {
      yield started;
      yield output(OutputStream.STDOUT, "partial");
      throw new PyroError("timeout", "the command did not finish within 1s");
    };
    const err = await client().run("debian:12", ["sleep", "9"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyroError);
    const pe = err as PyroError;
    expect(pe.code).toBe("timeout");
    expect(pe.exitCode).toBe(124);
    expect(pe.message).toBe("the command did not finish within 1s");
    const data = pe.data as unknown as RunTimeoutData;
    expect(data.stdout).toBe("partial");
    expect(data.stderr).toBe("");
    expect(data.sandboxId).toBe("sb-1");
    expect(data.executionMode).toBe("namespace");
  });

  it("rebuilds the stable code and hint the manager sent", async () => {
    runScript = async function* () {
      throw new PyroError("environment_not_found", 'unknown environment "nope"', { hint: "run `pyro env list`" });
    };
    const err = (await client().run("nope", ["true"]).catch((e: unknown) => e)) as PyroError;
    expect(err).toBeInstanceOf(PyroError);
    expect(err.code).toBe("environment_not_found");
    expect(err.hint).toBe("run `pyro env list`");
    expect(err.message).toBe('unknown environment "nope"');
  });

  it("keeps an exception thrown by the caller's callback as it is", async () => {
    runScript = async function* () {
      yield started;
      yield output(OutputStream.STDOUT, "x");
      yield exited(0);
    };
    const mine = new RangeError("mine");
    const err = await client()
      .run("debian:12", ["x"], {
        onOutput: () => {
          throw mine;
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBe(mine);
  });

  it("reads the next output only once onOutput's promise settles", async () => {
    runScript = async function* () {
      yield started;
      for (const part of ["a", "b", "c"]) yield output(OutputStream.STDOUT, part);
      yield exited(0);
    };
    const calls: string[] = [];
    let release: (() => void) | undefined;
    const p = client().run("debian:12", ["x"], {
      onOutput: (_s, d) => {
        calls.push(Buffer.from(d).toString());
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    for (const want of [["a"], ["a", "b"], ["a", "b", "c"]]) {
      await vi.waitFor(() => expect(calls).toEqual(want));
      await new Promise((r) => setTimeout(r, 50)); // time for a wrongly eager reader to call again
      expect(calls).toEqual(want);
      release!();
    }
    await expect(p).resolves.toMatchObject({ stdout: "abc", exitCode: 0 });
  });

  it("a rejected onOutput promise rejects the run with the caller's own error", async () => {
    runScript = async function* () {
      yield started;
      yield output(OutputStream.STDOUT, "x");
      yield exited(0);
    };
    const mine = new RangeError("mine");
    await expect(client().run("debian:12", ["x"], { onOutput: () => Promise.reject(mine) })).rejects.toBe(mine);
  });

  it("a manager that goes away mid-run is manager_unavailable, not cancelled", async () => {
    runScript = async function* () {
      yield started;
      for (const session of sessions) session.destroy();
      await new Promise(() => {});
    };
    const err = (await client().run("debian:12", ["sleep", "9"]).catch((e: unknown) => e)) as PyroError;
    expect(err).toBeInstanceOf(PyroError);
    expect(err.code).toBe("manager_unavailable");
    expect(err.exitCode).toBe(125);
  });

  it("rejects with cancelled when the signal aborts", async () => {
    runScript = async function* (_req, ctx) {
      yield started;
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    };
    const ac = new AbortController();
    const p = client().run("debian:12", ["sleep", "9"], { signal: ac.signal, onStarted: () => ac.abort() });
    await expect(p).rejects.toMatchObject({ code: "cancelled" });
  });

  it("refuses empty commands and bad numbers before calling", async () => {
    await expect(client().run("debian:12", [])).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(client().run("debian:12", "  ")).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(client().run("", ["true"])).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(client().run("debian:12", ["true"], { memMib: 1.5 })).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("refuses stdin over 16 MiB before sending it (the manager reads no larger request)", async () => {
    lastRun = undefined;
    await expect(client().run("debian:12", ["wc", "-c"], { stdin: new Uint8Array((16 << 20) + 1) })).rejects.toMatchObject({
      code: "invalid_argument",
      message: `stdin is ${(16 << 20) + 1} bytes; at most ${16 << 20} are allowed`,
    });
    expect(lastRun).toBeUndefined();
  });

  it("fails with internal when the stream ends without an exit", async () => {
    runScript = async function* () {
      yield started;
    };
    await expect(client().run("debian:12", ["true"])).rejects.toMatchObject({ code: "internal" });
  });
});

describe("environments, doctor, version", () => {
  it("converts messages to plain objects with numbers", async () => {
    const pyro = client();
    const list = await pyro.environments.list();
    expect(list.map((e) => [e.name, e.installed])).toEqual([
      ["debian:12", true],
      ["debian:12-base", false],
    ]);
    expect(list[0]?.manifest?.sizeBytes).toBe(5 * 2 ** 30);
    expect(list[1]?.manifest).toBeUndefined();

    const phases: string[] = [];
    const pulled = await pyro.environments.pull("debian:12", { onProgress: (p) => phases.push(`${p.phase}@${p.elapsedMs}`) });
    expect(pulled.name).toBe("debian:12");
    expect(phases).toEqual(["download@12"]);

    expect((await pyro.environments.inspect("debian:12")).manifest?.installedPackages).toEqual(["bash=5"]);
    expect(await pyro.environments.prune({ all: true })).toEqual({ removedPaths: ["/a", "/b"], freedBytes: 1234, kept: [{ path: "/c", reason: "in use by 1 running sandbox" }] });
    expect(await pyro.version()).toEqual({ client: expect.any(String), manager: "9.9.9", managerPid: 42, managerUptimeSeconds: 7 });
  });

  it("maps a domain error and hides an unexpected one", async () => {
    const pyro = client();
    await expect(pyro.environments.inspect("nope")).rejects.toMatchObject({ code: "environment_not_found", hint: "pick another" });
    const err = (await pyro.doctor().catch((e: unknown) => e)) as PyroError;
    expect(err.code).toBe("internal");
    expect(err.message).not.toContain("secret");
  });
});

describe("reaching the manager", () => {
  it("reports manager_unavailable when nothing listens and auto-start is off", async () => {
    const pyro = client({ socketPath: join(dir, "nobody.sock") });
    const err = (await pyro.version().catch((e: unknown) => e)) as PyroError;
    expect(err).toBeInstanceOf(PyroError);
    expect(err.code).toBe("manager_unavailable");
    expect(err.message).toContain("nobody.sock");
    expect(err.hint).toContain("pyro manager serve");
  });

  it("uses PYRO_MANAGER_SOCKET by default", () => {
    const pyro = new Pyro({ env: { PYRO_MANAGER_SOCKET: "/x/m.sock" } });
    expect(pyro.socketPath).toBe("/x/m.sock");
    pyro.close();
  });

  it("refuses a malformed PYRO_MANAGER_COMMAND", async () => {
    const pyro = client({ socketPath: join(dir, "none.sock"), autoStart: true, env: { PYRO_MANAGER_COMMAND: "node pyro.mjs" } });
    await expect(pyro.version()).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("fails soon, naming the log, when the started manager exits", async () => {
    const env = { PYRO_MANAGER_COMMAND: JSON.stringify(["/bin/false"]), PYRO_STATE_DIR: join(dir, "state") };
    const pyro = client({ socketPath: join(dir, "none.sock"), autoStart: true, env });
    const t0 = Date.now();
    const err = (await pyro.version().catch((e: unknown) => e)) as PyroError;
    expect(err.code).toBe("manager_unavailable");
    expect(err.message).toContain("exited with status 1");
    expect(err.hint).toContain(join(dir, "state", "manager.log"));
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe("auto-start", () => {
  const fake = fileURLToPath(new URL("./testdata/fake-manager.mjs", import.meta.url));
  const started: number[] = [];
  afterAll(() => {
    for (const pid of started) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
  });

  it("starts one manager when several clients find none at once", async () => {
    const sock = join(dir, "auto.sock");
    const log = join(dir, "started.log");
    const env = {
      PYRO_MANAGER_COMMAND: JSON.stringify([process.execPath, fake]),
      FAKE_MANAGER_STARTED_LOG: log,
      FAKE_MANAGER_DELAY_MS: "200",
    };
    const pyros = [1, 2, 3].map(() => client({ socketPath: sock, autoStart: true, env }));
    const versions = await Promise.all(pyros.map((p) => p.version()));
    const pids = readFileSync(log, "utf8").trim().split("\n").map(Number);
    started.push(...pids);
    expect(pids).toHaveLength(1);
    for (const v of versions) expect(v).toMatchObject({ manager: "0.0.0-fake", managerPid: pids[0] });
    // The next client finds it running and starts nothing.
    expect((await client({ socketPath: sock, autoStart: true, env }).version()).managerPid).toBe(pids[0]);
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(1);
    expect(existsSync(sock)).toBe(true);
  });
});
