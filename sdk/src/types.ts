/**
 * The public, hand-written types of the SDK. Generated protobuf messages stay internal:
 * these are plain objects with camelCase keys and numbers (never bigint).
 */

import type { Transport } from "@connectrpc/connect";
import type { WorkspaceMethods } from "./workspace-types.js";

/** Environment variables as `process.env` holds them. */
export type Env = Record<string, string | undefined>;

/** Options of `new Pyro()`. */
export interface PyroOptions {
  /** Manager socket; default `PYRO_MANAGER_SOCKET`, else `<state dir>/manager.sock`. */
  socketPath?: string;
  /** Start a manager in the background when none answers (default true). */
  autoStart?: boolean;
  /** Environment the defaults (and an auto-started manager) read; default `process.env`. */
  env?: Env;
  /** A Connect transport to the manager API to use instead of the socket (in-process tests, other carriers); nothing is auto-started then. */
  transport?: Transport;
}

/** Per-call options every method accepts. */
export interface CallOptions {
  /** Aborting it cancels the call (a run's sandbox is deleted); the call rejects with code `cancelled`. */
  signal?: AbortSignal;
}

/** A step of installing an environment. */
export type PullPhaseName = "resolve" | "download" | "extract" | "install" | "verify" | "done" | "unspecified";

/** One progress event of an environment install. */
export interface PullProgressInfo {
  environment: string;
  phase: PullPhaseName;
  /** A short human line about the step. */
  message: string;
  /** Milliseconds since the install began. */
  elapsedMs: number;
}

/** Which stream a chunk of command output came from. */
export type OutputStreamName = "stdout" | "stderr";

/** One resource limit of a sandbox and whether this host enforces it. */
export interface LimitInfo {
  /** The value, in the unit its name gives (count, MiB). */
  value: number;
  /** False when the backend only records it (e.g. no cgroups here); `detail` says why. */
  enforced: boolean;
  /** How it is enforced, or why it is not. */
  detail: string;
}

/** The limits a sandbox runs under. */
export interface LimitsInfo {
  vcpuCount: LimitInfo;
  memMib: LimitInfo;
  diskMib: LimitInfo;
  pids: LimitInfo;
}

/** Sent once the command's process exists. */
export interface RunStartedInfo {
  sandboxId: string;
  /** The backend that runs it: "namespace", "host" or "firecracker". */
  executionMode: string;
  environment: string;
  /** Process id inside the sandbox. */
  pid: number;
  /** The seccomp filter the command runs under, e.g. "pyro-default/x86_64"; "" when none (the host backend). */
  seccomp: string;
  /** The limits the sandbox runs under, and which are enforced here. */
  limits: LimitsInfo;
}

/** Options of `Pyro.run()`; unset numbers take the manager's defaults (1 vCPU, 1024 MiB, 4096 MiB of disk, 30 s, 600 s). */
export interface RunOptions extends CallOptions {
  vcpuCount?: number;
  memMib?: number;
  /** Size of the sandbox's writable filesystem in MiB. */
  diskMib?: number;
  /** Command timeout in seconds. */
  timeoutSeconds?: number;
  /** Sandbox lifetime limit in seconds. */
  ttlSeconds?: number;
  /** Give the sandbox outbound network access (default: loopback only). */
  network?: boolean;
  /** Allow the "host" backend, which has no isolation. */
  allowHostCompat?: boolean;
  /** "namespace", "host" or "firecracker"; default: the manager's choice. */
  backend?: string;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Working directory inside the sandbox (default /workspace). */
  cwd?: string;
  /** Bytes (or UTF-8 text) for the command's standard input. */
  stdin?: Uint8Array | string;
  /**
   * Live output, raw bytes in the order the command wrote them per stream. When it returns
   * a promise, the next output is read only once that settles: a slow consumer slows the
   * command (its pipes fill and it waits), and nothing piles up in memory on the way.
   */
  onOutput?(stream: OutputStreamName, data: Uint8Array): void | Promise<void>;
  /** Environment install progress (only when the environment was missing). */
  onProgress?(progress: PullProgressInfo): void;
  /** The command started. */
  onStarted?(started: RunStartedInfo): void;
}

/** The result of a command that ran to its end (a non-zero exit code is a result, not an error). */
export interface RunResult {
  environment: string;
  /** The backend that ran it. */
  executionMode: string;
  sandboxId: string;
  /** The seccomp filter the command ran under, e.g. "pyro-default/x86_64"; "" when none (the host backend). */
  seccomp: string;
  /** The limits the sandbox ran under, and which were enforced. */
  limits: LimitsInfo;
  /** The exit status; -1 when a signal ended the command. */
  exitCode: number;
  /** The signal that ended it, e.g. "SIGKILL"; "" otherwise. */
  signal: string;
  /** Time the command ran, in milliseconds. */
  durationMs: number;
  /** Time from request to exit, sandbox start included, in milliseconds. */
  totalMs: number;
  /** Standard output, decoded as UTF-8; at most the first 1 MiB. */
  stdout: string;
  stderr: string;
  /** True when the command wrote more than 1 MiB to the stream (the rest went to `onOutput` only). */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** What `PyroError.data` holds when a run times out. */
export interface RunTimeoutData {
  environment: string;
  executionMode: string;
  sandboxId: string;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** The manifest of an installed environment. */
export interface EnvironmentManifestInfo {
  /** Absolute host path of the cached environment. */
  path: string;
  /** SHA-256 over the root filesystem tree, hex. */
  rootfsDigest: string;
  sizeBytes: number;
  packageCount: number;
  /** RFC 3339. */
  createdAt: string;
  /** "build" or "registry". */
  source: string;
  mirror: string;
  /** "name=version", sorted. */
  installedPackages: string[];
}

/** A catalog entry. */
export interface EnvironmentInfo {
  name: string;
  version: string;
  description: string;
  installed: boolean;
  /** Debian packages asked for on top of the base variant. */
  packages: string[];
  /** Set when installed. */
  manifest?: EnvironmentManifestInfo;
}

/** Options of `environments.pull()`. */
export interface PullOptions extends CallOptions {
  /** Reinstall even when a verified copy is cached. */
  force?: boolean;
  onProgress?(progress: PullProgressInfo): void;
}

/** Options of `environments.prune()`. */
export interface PruneOptions extends CallOptions {
  /** Also remove verified, current copies. */
  all?: boolean;
}

/** What `environments.prune()` removed, and what it kept because it is in use. */
export interface PruneResult {
  removedPaths: string[];
  freedBytes: number;
  /** Copies left in place: running sandboxes use them, or a build holds the environment. */
  kept: { path: string; reason: string }[];
}

export type CheckStatusName = "ok" | "warn" | "fail";

/** One doctor check with its fix. */
export interface DoctorCheckInfo {
  name: string;
  status: CheckStatusName;
  /** What was found. */
  detail: string;
  /** How to fix it; "" when ok. */
  hint: string;
}

/** The host's readiness. */
export interface DoctorReport {
  checks: DoctorCheckInfo[];
  /** The backend used when none is asked for; "" when none can run. */
  defaultBackend: string;
  availableBackends: string[];
  stateDir: string;
  cacheDir: string;
}

/** Versions of this client and of the manager it talks to. */
export interface VersionInfo {
  client: string;
  manager: string;
  managerPid: number;
  managerUptimeSeconds: number;
}

/** Environment operations of a client. */
export interface EnvironmentsApi {
  /** The catalog, saying which entries are installed. */
  list(opts?: CallOptions): Promise<EnvironmentInfo[]>;
  /** Installs an environment, reporting progress; resolves with the installed entry. */
  pull(name: string, opts?: PullOptions): Promise<EnvironmentInfo>;
  /** One entry, with its manifest when installed. */
  inspect(name: string, opts?: CallOptions): Promise<EnvironmentInfo>;
  /** Removes half-built, corrupt and outdated copies (and with `all`, every copy). */
  prune(opts?: PruneOptions): Promise<PruneResult>;
}

/** What the CLI and the MCP server need from a client; `Pyro` implements it (tests inject fakes). */
export interface PyroClient extends WorkspaceMethods {
  run(environment: string, command: string[] | string, opts?: RunOptions): Promise<RunResult>;
  readonly environments: EnvironmentsApi;
  doctor(opts?: CallOptions): Promise<DoctorReport>;
  version(opts?: CallOptions): Promise<VersionInfo>;
  close(): void;
}
