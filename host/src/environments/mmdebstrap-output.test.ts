import { describe, expect, it } from "vitest";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { LineTail, lastErrorLine, parseInfoLine } from "./mmdebstrap-output.js";

describe("parseInfoLine", () => {
  it("maps mmdebstrap's info lines to phases", () => {
    expect(parseInfoLine("I: running apt-get update...")).toEqual({ phase: PullPhase.RESOLVE, message: "running apt-get update" });
    expect(parseInfoLine("I: downloading packages with apt...")?.phase).toBe(PullPhase.DOWNLOAD);
    expect(parseInfoLine("I: extracting archives...")?.phase).toBe(PullPhase.EXTRACT);
    expect(parseInfoLine("I: installing essential packages...")?.phase).toBe(PullPhase.INSTALL);
    expect(parseInfoLine("I: installing remaining packages inside the chroot...")?.phase).toBe(PullPhase.INSTALL);
  });

  it("keeps the phase for other info lines and ignores everything else", () => {
    expect(parseInfoLine("I: cleaning package lists and apt cache...")).toEqual({ phase: undefined, message: "cleaning package lists and apt cache" });
    expect(parseInfoLine("I: success in 20.5527 seconds")).toEqual({ phase: undefined, message: "success in 20.5527 seconds" });
    expect(parseInfoLine(`I: running --customize-hook in shell: sh -c 'set -e`)).toEqual({ phase: undefined, message: "running --customize-hook" });
    expect(parseInfoLine("Reading package lists...")).toBeUndefined();
    expect(parseInfoLine("E: mmdebstrap failed to run")).toBeUndefined();
  });
});

describe("lastErrorLine", () => {
  it("picks the cause, not mmdebstrap's wrappers (unreachable mirror)", () => {
    const lines = [
      "I: running apt-get update...",
      "Err:1 http://127.0.0.1:9/debian bookworm InRelease",
      "E: Failed to fetch http://127.0.0.1:9/debian/dists/bookworm/InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)",
      "E: Some index files failed to download. They have been ignored, or old ones used instead.",
      "E: apt-get update --error-on=any -oAPT::Status-Fd=<$fd> -oDpkg::Use-Pty=false failed",
      "I: main() received signal PIPE: waiting for setup...",
      "E: mmdebstrap failed to run",
    ];
    expect(lastErrorLine(lines)).toMatch(/^Failed to fetch http:\/\/127\.0\.0\.1:9\/debian.*Connection refused\)$/);
  });

  it("picks the cause, not mmdebstrap's wrappers (unknown package)", () => {
    const lines = [
      "E: Unable to locate package nonexistentpkgxyz",
      "E: setup failed: E: apt-get -o Dir::Bin::dpkg=env --yes install nonexistentpkgxyz failed",
      "E: mmdebstrap failed to run",
    ];
    expect(lastErrorLine(lines)).toBe("Unable to locate package nonexistentpkgxyz");
  });

  it("falls back to the last error, then the last line", () => {
    expect(lastErrorLine(["x", "E: mmdebstrap failed to run"])).toBe("mmdebstrap failed to run");
    expect(lastErrorLine(["something broke", ""])).toBe("something broke");
    expect(lastErrorLine([])).toBe("");
  });
});

describe("LineTail", () => {
  it("keeps the last lines", () => {
    const tail = new LineTail(3);
    for (const l of ["a", "b", "c", "d"]) tail.push(l);
    expect(tail.toArray()).toEqual(["b", "c", "d"]);
  });
});
