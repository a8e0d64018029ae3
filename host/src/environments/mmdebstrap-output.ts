/**
 * Reading mmdebstrap's output: its "I: ..." lines become progress phases, and its
 * "E: ..." lines give the one line a failed build is reported with. Pure functions,
 * so the parsing is tested without running a build.
 */
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";

/** mmdebstrap's info messages (after "I: ") and the phase each one starts. */
const PHASES: ReadonlyArray<[RegExp, PullPhase]> = [
  [/^downloading packages/, PullPhase.DOWNLOAD],
  [/^extracting archives/, PullPhase.EXTRACT],
  [/^(installing|configuring|unpacking) /, PullPhase.INSTALL],
  // Resolving sources and indices comes before any download.
  [/^(automatically chosen mode|chroot architecture|finding correct signed-by|running apt-get update|using \S+ as tempdir)/, PullPhase.RESOLVE],
];

/** A progress step read from one line of mmdebstrap output. */
export interface OutputStep {
  /** The phase this line starts, or undefined when it keeps the current one. */
  phase: PullPhase | undefined;
  /** The line without its "I: " prefix and trailing dots, e.g. "downloading packages with apt". */
  message: string;
}

/** The progress step an "I: ..." line stands for, or undefined for any other line. */
export function parseInfoLine(line: string): OutputStep | undefined {
  const m = /^I: (.*?)(?:\.\.\.)?\s*$/.exec(line);
  if (!m?.[1]) return undefined;
  // A hook's line goes on with its whole shell script; its name is enough.
  const message = m[1].replace(/^(running --[\w-]+-hook) in shell: .*/, "$1");
  const hit = PHASES.find(([re]) => re.test(message));
  return { phase: hit?.[1], message };
}

/**
 * mmdebstrap's wrapper errors repeat that something below failed (often with a whole
 * apt command line); the line worth showing is the one below that says why.
 */
const GENERIC_ERRORS: readonly RegExp[] = [
  /^mmdebstrap failed/,
  /^setup failed/,
  /^Some index files failed to download/,
  /^(apt-get|apt|dpkg|chroot|env|run_\w+)\b.* failed(: .*)?$/,
  /^main\(\) received signal/,
];

const MAX_LINE = 300;

/**
 * The last meaningful "E: ..." line of `lines` (without the prefix), else the last
 * error of any kind, else the last non-empty line; "" when there is none.
 */
export function lastErrorLine(lines: readonly string[]): string {
  const errors = lines.filter((l) => l.startsWith("E: ")).map((l) => l.slice(3).trim());
  const meaningful = errors.filter((e) => !GENERIC_ERRORS.some((re) => re.test(e)));
  const pick = meaningful.at(-1) ?? errors.at(-1) ?? lines.filter((l) => l.trim() !== "").at(-1)?.trim() ?? "";
  return pick.length > MAX_LINE ? `${pick.slice(0, MAX_LINE)}…` : pick;
}

/** Keeps the last `size` lines it is given. */
export class LineTail {
  private readonly lines: string[] = [];
  constructor(private readonly size = 50) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  toArray(): string[] {
    return [...this.lines];
  }
}
