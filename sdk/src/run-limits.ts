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
