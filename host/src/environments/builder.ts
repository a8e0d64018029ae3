/**
 * Building an environment's root filesystem. The store talks to the narrow
 * `EnvironmentBuilder` interface (tests inject a fast fake); `MmdebstrapBuilder` is the
 * real one: it builds the tree from Debian packages with mmdebstrap.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { DEBIAN_SUITE, type CatalogEntry } from "./catalog.js";
import { LineTail, lastErrorLine, parseInfoLine } from "./mmdebstrap-output.js";

/** One step of a build, as the builder sees it. */
export interface BuildProgress {
  phase: PullPhase;
  /** A short human line, e.g. mmdebstrap's own "downloading packages with apt". */
  message: string;
}

export interface BuildOptions {
  /** Debian mirror URL the packages come from. */
  mirror: string;
  onProgress?: (progress: BuildProgress) => void;
  /** Aborting stops the build; it then rejects with `cancelled`. */
  signal?: AbortSignal;
}

/** Builds one catalog entry's root filesystem. */
export interface EnvironmentBuilder {
  /**
   * Builds `entry` into `targetDir`, which must not exist yet or be empty. On failure the
   * directory may hold a partial tree: removing it is the caller's job.
   */
  build(entry: CatalogEntry, targetDir: string, opts: BuildOptions): Promise<void>;
}

/**
 * Leave documentation, manuals and translations out: sandboxes never read them and they
 * are a good part of a minbase tree. Copyright files stay, as the licences ask. The file
 * also keeps them out of packages a sandbox installs later.
 */
const SLIM_DPKG_CONFIG = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
  "path-exclude=/usr/share/locale/*",
  "path-include=/usr/share/locale/locale.alias",
  "path-exclude=/usr/share/lintian/*",
];

/**
 * Installs the dpkg configuration before anything is unpacked. Not through --dpkgopt: with
 * that, mmdebstrap pipes every essential package through mmtarfilter, which more than
 * doubles the build time; the essential set's excluded files are deleted at the end instead.
 */
const SETUP_HOOK = [
  'mkdir -p "$1/etc/dpkg/dpkg.cfg.d"',
  `printf '%s\\n' ${SLIM_DPKG_CONFIG.map((line) => `'${line}'`).join(" ")} > "$1/etc/dpkg/dpkg.cfg.d/99pyro-slim"`,
].join(" && ");

/**
 * Deletes what the dpkg configuration would have excluded (the essential set is unpacked
 * without it; as with dpkg, symlinks under doc/ stay), the alternatives that pointed at
 * deleted manuals, and the package indices and .debs that only the build needed.
 */
const CUSTOMIZE_HOOK = `set -e
cd "$1"
for d in usr/share/man usr/share/info usr/share/lintian usr/share/locale; do
  if [ -d "$d" ]; then
    find "$d" -mindepth 1 ! -type d ! -path usr/share/locale/locale.alias -delete
    find "$d" -mindepth 1 -type d -empty -delete
  fi
done
if [ -d usr/share/doc ]; then find usr/share/doc -type f ! -path 'usr/share/doc/*/copyright' -delete; fi
for l in etc/alternatives/*; do
  case "$(readlink "$l")" in /usr/share/man/*|/usr/share/info/*) rm -f "$l" ;; esac
done
find var/lib/apt/lists var/cache/apt -mindepth 1 -type f -delete`;

/** After SIGTERM, how long mmdebstrap gets to unmount and clean up before SIGKILL. */
const KILL_GRACE_MS = 10_000;

/** The mmdebstrap arguments that build `entry` into `targetDir`. */
export function mmdebstrapArgs(entry: CatalogEntry, targetDir: string, mirror: string): string[] {
  return [
    `--variant=${entry.variant}`,
    "--mode=auto",
    "--format=directory",
    ...(entry.packages.length ? [`--include=${entry.packages.join(",")}`] : []),
    `--setup-hook=${SETUP_HOOK}`,
    `--customize-hook=${CUSTOMIZE_HOOK}`,
    DEBIAN_SUITE,
    targetDir,
    mirror,
  ];
}

/** Refuses anything but a plain http(s)/file URL: mmdebstrap would read other text as sources.list lines. */
function checkMirror(mirror: string): void {
  let url: URL | undefined;
  try {
    url = new URL(mirror);
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:", "file:"].includes(url.protocol) || /\s/.test(mirror)) {
    throw new PyroError("invalid_argument", `Debian mirror ${JSON.stringify(mirror)} is not an http(s) or file URL`, {
      hint: "set PYRO_DEBIAN_MIRROR to a URL such as http://deb.debian.org/debian",
    });
  }
}

/** Builds root filesystems with mmdebstrap (as root it runs in root mode, else in unshare mode). */
export class MmdebstrapBuilder implements EnvironmentBuilder {
  private readonly command: string;
  private readonly log: Logger;

  constructor(opts: { log?: Logger; command?: string } = {}) {
    this.command = opts.command ?? "mmdebstrap";
    this.log = opts.log ?? silentLogger;
  }

  async build(entry: CatalogEntry, targetDir: string, opts: BuildOptions): Promise<void> {
    checkMirror(opts.mirror);
    const { signal, onProgress } = opts;
    if (signal?.aborted) throw cancelled(entry);
    const args = mmdebstrapArgs(entry, targetDir, opts.mirror);
    this.log.info("building environment", { environment: entry.name, mirror: opts.mirror, command: [this.command, ...args] });

    return new Promise<void>((resolve, reject) => {
      // Its own process group, so cancelling reaches apt and dpkg below it too.
      const child = spawn(this.command, args, {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        // apt's messages are parsed for the error line, so keep them untranslated.
        env: { ...process.env, LC_ALL: "C" },
      });
      const tail = new LineTail(50);
      let phase = PullPhase.RESOLVE;
      let killTimer: NodeJS.Timeout | undefined;
      let settled = false;

      const onLine = (line: string) => {
        tail.push(line);
        this.log.debug("mmdebstrap", { environment: entry.name, line });
        const step = parseInfoLine(line);
        if (!step) return;
        phase = step.phase ?? phase;
        try {
          onProgress?.({ phase, message: step.message });
        } catch (err) {
          this.log.warn("progress listener failed", { err });
        }
      };
      for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream, crlfDelay: Infinity }).on("line", onLine);

      const onAbort = () => {
        killGroup(child.pid, "SIGTERM");
        // mmdebstrap unmounts what it mounted in the tree on SIGTERM; only force it when stuck.
        killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
        killTimer.unref();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      // A failed spawn can report both "error" and "close"; only the first one counts.
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        if (killTimer) clearTimeout(killTimer);
        return true;
      };

      child.on("error", (err: NodeJS.ErrnoException) => {
        if (!done()) return;
        if (err.code === "ENOENT") {
          reject(
            new PyroError("environment_build_failed", `cannot build environment "${entry.name}": ${this.command} is not installed`, {
              hint: "install it with `apt-get install -y mmdebstrap`, then run `pyro env pull` again",
              cause: err,
            }),
          );
        } else {
          reject(new PyroError("environment_build_failed", `cannot run ${this.command} for environment "${entry.name}": ${err.message}`, { cause: err }));
        }
      });
      child.on("close", (code, sig) => {
        if (!done()) return;
        if (signal?.aborted) return reject(cancelled(entry));
        if (code === 0) return resolve();
        const lines = tail.toArray();
        const why = lastErrorLine(lines) || `mmdebstrap exited with ${code ?? sig}`;
        this.log.warn("environment build failed", { environment: entry.name, mirror: opts.mirror, exitCode: code, signal: sig, output: lines });
        reject(
          new PyroError("environment_build_failed", `building environment "${entry.name}" from ${opts.mirror} failed: ${why}`, {
            data: { exitCode: code, outputTail: lines },
          }),
        );
      });
    });
  }
}

function cancelled(entry: CatalogEntry): PyroError {
  return new PyroError("cancelled", `building environment "${entry.name}" was cancelled`);
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}
