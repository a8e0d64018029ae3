/**
 * The seccomp filter every namespace sandbox runs under, as container runtimes put one
 * around every container. The program is compiled from host/seccomp/profile.json by
 * libseccomp (host/seccomp/generate.py) and embedded in the manager, so nothing is read
 * from disk at run time; bubblewrap installs it (`--seccomp FD`) on the sandbox's pid 1
 * and on the agent, whose commands inherit it. A host whose architecture has no program
 * runs no namespace sandbox at all: never one without the filter.
 */
import { createHash } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { PyroError } from "../../../../sdk/src/errors.js";
import { SECCOMP_PROFILE, SECCOMP_PROGRAMS } from "../../../seccomp/gen/filters.js";

/** A compiled filter for one architecture, checked. */
export interface SeccompFilter {
  /** The profile's name, e.g. "pyro-default". */
  profile: string;
  /** The kernel's name of the architecture, e.g. "x86_64". */
  arch: string;
  /** Syscalls allowed outright. */
  allowed: number;
  /** Syscalls allowed only with certain arguments (socket families, clone flags, …). */
  conditional: number;
  /** Syscalls answered with a chosen errno (clone3: ENOSYS). */
  errno: number;
  /** The BPF program (`struct sock_filter[]`), as bubblewrap reads it. */
  bpf: Buffer;
}

/** A program as host/seccomp/gen/filters.ts holds it: figures, and the BPF in base64. */
export interface SeccompProgram {
  arch: string;
  allowed: number;
  conditional: number;
  errno: number;
  instructions: number;
  sha256: string;
  bpf: string;
}

/** The kernel refuses longer programs (BPF_MAXINSNS). */
const MAX_INSTRUCTIONS = 4096;

/**
 * The filter for `arch` (Node's `process.arch` names). Throws `backend_unavailable` when
 * this build has none for it, and `internal` when the embedded program is damaged.
 */
export function seccompFilter(arch: string = process.arch, programs: Record<string, SeccompProgram> = SECCOMP_PROGRAMS): SeccompFilter {
  const p = Object.hasOwn(programs, arch) ? programs[arch] : undefined;
  if (!p) {
    const known = Object.values(programs).map((e) => e.arch).join(", ");
    throw new PyroError("backend_unavailable", `pyro has no seccomp filter for this host's architecture (${arch}), and runs no namespace sandbox without one`, {
      hint: `namespace sandboxes run on ${known}; add the architecture to host/seccomp/profile.json and run \`npm run generate\`, or use another backend`,
    });
  }
  const bpf = Buffer.from(p.bpf, "base64");
  const digest = createHash("sha256").update(bpf).digest("hex");
  if (digest !== p.sha256 || bpf.length % 8 !== 0 || bpf.length / 8 !== p.instructions || p.instructions > MAX_INSTRUCTIONS) {
    throw new PyroError("internal", `the embedded seccomp filter for ${p.arch} is damaged (sha256 ${digest}, ${bpf.length} bytes)`, { hint: "rebuild pyro (`npm run build`)" });
  }
  return { profile: SECCOMP_PROFILE, arch: p.arch, allowed: p.allowed, conditional: p.conditional, errno: p.errno, bpf };
}

/** A short name for results: "pyro-default/x86_64". */
export function seccompLabel(f: SeccompFilter): string {
  return `${f.profile}/${f.arch}`;
}

/** One line for people: what the filter lets through and what happens to the rest. */
export function describeSeccomp(f: SeccompFilter): string {
  const rules = f.allowed + f.conditional + f.errno;
  return (
    `${seccompLabel(f)}: ${rules} rules (${f.allowed} syscalls allowed, ${f.conditional} only with checked arguments, ${f.errno} answering an errno), ` +
    `${f.bpf.length / 8} BPF instructions; every other syscall answers EPERM, and other ABIs kill the process`
  );
}

/**
 * Hands the program to bubblewrap on the pipe the sandbox was spawned with; bubblewrap
 * reads it to its end before it starts anything. A sandbox that dies before reading it
 * fails its start on its own; the broken pipe that leaves here must not end the manager.
 */
export function sendSeccompFilter(pipe: Writable | Readable | null | undefined, f: SeccompFilter): void {
  if (!pipe || !("end" in pipe)) throw new PyroError("internal", "the sandbox has no pipe for its seccomp filter");
  pipe.on("error", () => {});
  pipe.end(f.bpf);
}
