/**
 * The bounds and defaults of every request, in one place: the manager validates against
 * them, the operations table turns them into CLI checks and MCP schemas, and the SDK refuses
 * what cannot pass before sending it.
 */

/**
 * The sizes one Run may carry. The manager refuses more (and reads no request larger than a
 * Run at these limits); the SDK refuses oversized stdin before sending it.
 */
export const RUN_LIMITS = {
  /** The command, shell command and environment variables together. */
  argBytes: 1 << 20,
  /** One argument, shell command or NAME=VALUE: the kernel's MAX_ARG_STRLEN (128 KiB with its NUL) refuses more with E2BIG. */
  oneArgBytes: (128 << 10) - 1,
  stdinBytes: 16 << 20,
} as const;

/** An inclusive range of whole numbers and the value used when none is given (or 0 on the wire). */
export interface Bound {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/** Resources and times of a sandbox (one-shot runs and workspaces alike). */
export const SANDBOX_BOUNDS = {
  vcpuCount: { min: 1, max: 64, default: 1 },
  memMib: { min: 128, max: 1 << 20, default: 1024 },
  diskMib: { min: 128, max: 1 << 20, default: 4096 },
  /** A command's timeout. */
  timeoutSeconds: { min: 1, max: 86_400, default: 30 },
  /** A sandbox's or workspace's lifetime. */
  ttlSeconds: { min: 1, max: 86_400, default: 600 },
} as const satisfies Record<string, Bound>;

/** Sizes of workspace file, patch and archive traffic. */
export const WORKSPACE_LIMITS = {
  /** `file read`: bytes returned when the caller names no bound, and the most it may ask for. */
  fileRead: { min: 1, max: 1 << 20, default: 65_536 },
  /** `file write`: UTF-8 bytes of one call's text. */
  fileWriteBytes: 1 << 20,
  /** `patch apply`: bytes of one unified diff. */
  patchBytes: 1 << 20,
  /** What the journal (and a result) keeps of each output stream of a command. */
  execOutputBytes: 1 << 20,
  /** One chunk of an archive on the wire (seed, push, export). */
  archiveChunkBytes: 64 << 10,
} as const;

/** Output handed to a model (MCP) is cut to this, keeping head and tail. */
export const MODEL_OUTPUT_BOUND: Bound = { min: 1024, max: 1 << 20, default: 65_536 };

/** Snapshot names: letters, digits, ".", "_" and "-", at most 64 (the proto's rule). */
export const SNAPSHOT_NAME_PATTERN = "^[A-Za-z0-9._-]{1,64}$";
