/**
 * The runs of the stress load: ordinary commands, output-heavy ones, failures, a timeout,
 * limit breaches and hostile commands, each with the one outcome it must have (an exit
 * status and output, or a stable error code). A hostile command prints HELD and exits 0
 * when the boundary held, and exits 66 naming what it reached when it did not.
 */
import type { ErrorCode, RunOptions } from "../../sdk/src/index.js";

/** What a run must end with. */
export type Expected =
  | { exit: number; stdout?: string | RegExp; stdoutBytes?: number; stderrBytes?: number }
  | { code: ErrorCode };

export interface RunKind {
  name: string;
  command: string[];
  opts?: RunOptions;
  expected: Expected;
  /** Runs of this kind share a bound on how many run at once (see `heavy` in the load). */
  heavy?: boolean;
}

/** What a run ended with, as seen by an SDK client. */
export interface Outcome {
  exitCode?: number;
  code?: string;
  stdout: string;
  stdoutBytes: number;
  stderrBytes: number;
  message?: string;
}

const NR: Record<string, { socket: number; ptrace: number }> = { x64: { socket: 41, ptrace: 101 }, arm64: { socket: 198, ptrace: 117 } };

/** Finds the agent's pid inside the sandbox (procps is not in debian:12); A is empty when it is not there. */
const FIND_AGENT = `A=; for p in /proc/[0-9]*; do if tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q 'agent.mjs'; then A=\${p#/proc/}; fi; done`;

const bash = (script: string) => ["bash", "-c", script];

/**
 * The kinds of the load. `hostAddresses` are the host's own addresses, and `hostPort` a
 * port the host listens on (all addresses) during the load: a sandbox with --network must
 * reach neither.
 */
export function runKinds(o: { hostAddresses: string[]; hostPort: number }): RunKind[] {
  const nr = NR[process.arch] ?? NR.x64!;
  const MiB = 1 << 20;
  const netTargets = ["10.0.2.2", ...o.hostAddresses];
  return [
    { name: "true", command: ["true"], expected: { exit: 0, stdout: "" } },
    { name: "echo", command: ["echo", "hello from pyro"], expected: { exit: 0, stdout: "hello from pyro\n" } },
    { name: "git --version", command: ["git", "--version"], expected: { exit: 0, stdout: /^git version \d/ } },
    { name: "stdout 4 MiB", command: ["head", "-c", String(4 * MiB), "/dev/zero"], expected: { exit: 0, stdoutBytes: 4 * MiB, stderrBytes: 0 } },
    { name: "stderr 2 MiB", command: bash(`head -c ${2 * MiB} /dev/urandom >&2`), expected: { exit: 0, stdoutBytes: 0, stderrBytes: 2 * MiB } },
    { name: "exit 3", command: bash("echo failing; exit 3"), expected: { exit: 3, stdout: "failing\n" } },
    { name: "not found", command: ["no-such-command-pyro"], expected: { code: "command_not_found" } },
    { name: "not found (sh)", command: bash("no-such-command-pyro"), expected: { exit: 127 } },
    { name: "timeout", command: ["sleep", "30"], opts: { timeoutSeconds: 1 }, expected: { code: "timeout" } },
    {
      name: "memory hog",
      command: ["perl", "-e", `$x = "a" x (1024 << 20); print length($x)`],
      opts: { memMib: 128 },
      expected: { code: "out_of_memory" },
    },
    {
      // Each one holds up to the pids limit (1024) for a moment: `heavy` bounds how many at once.
      name: "fork loop",
      command: ["perl", "-e", `for (1..5000) { my $p = fork; if (!defined $p) { print "refused after $_\\n"; exit 1 } if (!$p) { sleep 30; exit } }`],
      expected: { code: "too_many_processes" },
      heavy: true,
    },
    {
      name: "disk filler",
      command: ["dd", "if=/dev/zero", "of=/workspace/big", "bs=1M", "count=300", "status=none"],
      opts: { diskMib: 128 },
      expected: { code: "disk_full" },
    },
    {
      name: "hostile: environ",
      command: bash(`if for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done | grep -q '^PYRO_'; then echo BROKEN environ; exit 66; fi; echo HELD`),
      expected: { exit: 0, stdout: "HELD\n" },
    },
    {
      name: "hostile: ptrace agent",
      command: bash(`${FIND_AGENT}; [ -n "$A" ] || { echo BROKEN no agent found; exit 66; }
        printf x 2>/dev/null > /proc/$A/mem && { echo BROKEN mem; exit 66; }
        perl -e '$r = syscall(${nr.ptrace}, 16, $ARGV[0], 0, 0); if ($r != -1) { print "BROKEN ptrace\\n"; exit 66 }' $A || exit 66
        echo HELD`),
      expected: { exit: 0, stdout: "HELD\n" },
    },
    {
      name: "hostile: AF_VSOCK",
      command: ["perl", "-e", `$! = 0; $r = syscall(${nr.socket}, 40, 1, 0); if ($r >= 0 || $!+0 != 1) { print "BROKEN vsock ", $!+0, "\\n"; exit 66 } print "HELD\\n"`],
      expected: { exit: 0, stdout: "HELD\n" },
    },
    {
      // Kills every process it may signal: its agent among them, so its own run fails, alone.
      name: "hostile: kill -9 -1",
      command: bash("kill -9 -1; sleep 2; echo survived"),
      expected: { code: "sandbox_failed" },
    },
    {
      // The agent's stdio and the sandbox init's: garbage where it can be written, and the run goes on.
      name: "hostile: agent pipes",
      command: bash(`${FIND_AGENT}; for f in /proc/$A/fd/0 /proc/$A/fd/1 /proc/$A/fd/2 /proc/1/fd/1 /proc/1/fd/2; do printf 'PYRO_AGENT_READY\\n\\0garbage\\r\\n' 2>/dev/null > $f; done; echo HELD`),
      expected: { exit: 0, stdout: "HELD\n" },
    },
    {
      name: "network: true",
      command: ["true"],
      opts: { network: true },
      expected: { exit: 0, stdout: "" },
    },
    {
      name: "network: host probe",
      command: bash(`for t in ${netTargets.join(" ")}; do timeout 3 bash -c "exec 3<>/dev/tcp/$t/${o.hostPort}" 2>/dev/null && { echo BROKEN reached $t; exit 66; }; done; echo HELD`),
      opts: { network: true },
      expected: { exit: 0, stdout: "HELD\n" },
    },
  ];
}

/** How often each kind appears in one client's default 25 runs (the rest once each). */
const WEIGHTS: Record<string, number> = { true: 3, echo: 3, "git --version": 3 };

/** One client's sequence of `count` runs: the weighted mix, shuffled by `rand`, repeated as needed. */
export function clientPlan(kinds: RunKind[], count: number, rand: () => number): RunKind[] {
  const deck = kinds.flatMap((k) => Array.from({ length: WEIGHTS[k.name] ?? 1 }, () => k));
  const plan: RunKind[] = [];
  while (plan.length < count) {
    const round = [...deck];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    plan.push(...round.slice(0, count - plan.length));
  }
  return plan;
}

function describeExpected(e: Expected): string {
  if ("code" in e) return `error ${e.code}`;
  const parts = [`exit ${e.exit}`];
  if (typeof e.stdout === "string") parts.push(`stdout ${JSON.stringify(e.stdout)}`);
  if (e.stdout instanceof RegExp) parts.push(`stdout ~ ${e.stdout}`);
  if (e.stdoutBytes !== undefined) parts.push(`${e.stdoutBytes} B stdout`);
  if (e.stderrBytes !== undefined) parts.push(`${e.stderrBytes} B stderr`);
  return parts.join(", ");
}

/** A short description of what a run ended with. */
export function describeOutcome(o: Outcome): string {
  if (o.code !== undefined) return `error ${o.code}${o.message ? ` (${o.message.slice(0, 160)})` : ""}`;
  const out = o.stdout.length > 60 ? `${JSON.stringify(o.stdout.slice(0, 60))}…` : JSON.stringify(o.stdout);
  return `exit ${o.exitCode}, stdout ${out}, ${o.stdoutBytes}/${o.stderrBytes} B stdout/stderr`;
}

/** Undefined when `o` is what `e` says it must be; otherwise what was expected, for the failure table. */
export function mismatch(e: Expected, o: Outcome): string | undefined {
  let ok: boolean;
  if ("code" in e) ok = o.code === e.code;
  else {
    ok = o.code === undefined && o.exitCode === e.exit;
    if (typeof e.stdout === "string") ok &&= o.stdout === e.stdout;
    if (e.stdout instanceof RegExp) ok &&= e.stdout.test(o.stdout);
    if (e.stdoutBytes !== undefined) ok &&= o.stdoutBytes === e.stdoutBytes;
    if (e.stderrBytes !== undefined) ok &&= o.stderrBytes === e.stderrBytes;
  }
  return ok ? undefined : describeExpected(e);
}
