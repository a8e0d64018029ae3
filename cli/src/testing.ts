/** Test doubles for the CLI: in-memory streams and a scriptable fake client. */
import { PassThrough, Writable } from "node:stream";
import { fakeWorkspacePyro, workspaceMethodsOf, type FakeWorkspaces } from "../../sdk/src/fake-workspace-service.js";
import type { LimitsInfo, Env, PyroClient, RunOptions, RunResult } from "../../sdk/src/types.js";
import type { CliIo, OutStream } from "./io.js";

/** A writable that keeps everything written to it. */
export class Capture extends Writable {
  readonly chunks: Buffer[] = [];
  isTTY?: boolean;
  columns?: number;

  constructor(opts: { tty?: boolean } = {}) {
    super();
    if (opts.tty) {
      this.isTTY = true;
      this.columns = 80;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

export interface TestIo extends CliIo {
  stdout: Capture & OutStream;
  stderr: Capture & OutStream;
}

export function testIo(client: PyroClient, opts: { env?: Env; ttyStderr?: boolean } = {}): TestIo {
  return {
    stdin: new PassThrough(),
    stdout: new Capture(),
    stderr: new Capture({ tty: opts.ttyStderr }),
    env: opts.env ?? {},
    signal: new AbortController().signal,
    createClient: () => client,
  };
}

/** Limits as a root manager on a cgroup host reports them. */
export const testLimits: LimitsInfo = {
  vcpuCount: { value: 1, enforced: true, detail: "cgroup v1 (memory, pids, cpu): CPU time quota" },
  memMib: { value: 1024, enforced: true, detail: "cgroup v1 (memory, pids, cpu): memory limit" },
  diskMib: { value: 4096, enforced: true, detail: "ext4 image per sandbox" },
  pids: { value: 1024, enforced: true, detail: "cgroup v1 (memory, pids, cpu): process limit" },
};

export const okRun: RunResult = {
  environment: "debian:12",
  executionMode: "namespace",
  sandboxId: "sb-1",
  seccomp: "pyro-default/x86_64",
  limits: testLimits,
  exitCode: 0,
  signal: "",
  durationMs: 10,
  totalMs: 50,
  stdout: "",
  stderr: "",
  stdoutTruncated: false,
  stderrTruncated: false,
};

type RunImpl = (environment: string, command: string[] | string, opts: RunOptions) => Promise<RunResult>;

/**
 * A PyroClient whose calls are recorded and whose run() is scripted; its workspace methods
 * are a real client's, of an in-memory WorkspaceService (`workspaces` is its state).
 */
export function fakeClient(run: RunImpl = async () => okRun, workspaceState?: FakeWorkspaces) {
  const { pyro, state: workspaces } = fakeWorkspacePyro(workspaceState);
  const calls: { method: string; args: unknown[] }[] = [];
  const record = (method: string, args: unknown[]) => calls.push({ method, args });
  let closed = false;
  const client: PyroClient = {
    ...workspaceMethodsOf(pyro),
    run: (environment, command, opts = {}) => {
      record("run", [environment, command, opts]);
      return run(environment, command, opts);
    },
    environments: {
      list: async () => {
        record("environments.list", []);
        return [
          { name: "debian:12", version: "1", description: "Debian 12 with git", installed: true, packages: ["git"] },
          { name: "debian:12-base", version: "1", description: "Minimal", installed: false, packages: [] },
        ];
      },
      pull: async (name, o = {}) => {
        record("environments.pull", [name, o]);
        o.onProgress?.({ environment: name, phase: "download", message: "fetching 3 packages", elapsedMs: 5 });
        o.onProgress?.({ environment: name, phase: "done", message: "", elapsedMs: 9 });
        return { name, version: "1", description: "", installed: true, packages: [], manifest: { path: "/c/x", rootfsDigest: "d", sizeBytes: 2 << 20, packageCount: 3, createdAt: "t", source: "build", mirror: "m", installedPackages: [] } };
      },
      inspect: async (name) => {
        record("environments.inspect", [name]);
        return { name, version: "1", description: "desc", installed: false, packages: ["bash", "git"] };
      },
      prune: async (o = {}) => {
        record("environments.prune", [o]);
        return { removedPaths: ["/c/old"], freedBytes: 1536, kept: [{ path: "/c/cur", reason: "in use by 1 running sandbox: sb-0123456789 (pid 42)" }] };
      },
    },
    doctor: async () => {
      record("doctor", []);
      return {
        checks: [
          { name: "bubblewrap", status: "ok", detail: "bubblewrap 0.8.0", hint: "" },
          { name: "kvm", status: "fail", detail: "/dev/kvm is missing", hint: "enable KVM" },
        ],
        defaultBackend: "namespace",
        availableBackends: ["namespace", "host"],
        stateDir: "/s",
        cacheDir: "/c",
      };
    },
    version: async () => ({ client: "0", manager: "0", managerPid: 1, managerUptimeSeconds: 1 }),
    close: () => {
      closed = true;
    },
  };
  return { client, calls, workspaces, isClosed: () => closed };
}
