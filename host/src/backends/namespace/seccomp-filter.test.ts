import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { PyroError } from "../../../../sdk/src/errors.js";
import { SECCOMP_PROGRAMS } from "../../../seccomp/gen/filters.js";
import { bwrapArgs } from "./bwrap-args.js";
import { describeSeccomp, seccompFilter, seccompLabel, sendSeccompFilter } from "./seccomp-filter.js";
import { probeSeccomp } from "./seccomp-probe.js";

const GEN = join(import.meta.dirname, "..", "..", "..", "seccomp", "gen");
const hasBwrap = (() => {
  try {
    execFileSync("bwrap", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

describe("seccomp filter loader", () => {
  it.each([
    ["x64", "x86_64"],
    ["arm64", "aarch64"],
  ])("has the program for %s, byte for byte the checked-in %s.bpf", (nodeArch, arch) => {
    const f = seccompFilter(nodeArch);
    expect(f.arch).toBe(arch);
    expect(f.profile).toBe("pyro-default");
    expect(f.bpf.equals(readFileSync(join(GEN, `${arch}.bpf`)))).toBe(true);
    expect(f.allowed).toBeGreaterThan(200);
    expect(f.conditional).toBeGreaterThanOrEqual(5); // socket, socketpair, clone, unshare, personality
    expect(f.errno).toBe(1); // clone3
    expect(seccompLabel(f)).toBe(`pyro-default/${arch}`);
  });

  it("loads this host's filter by default", () => {
    expect(seccompFilter().arch).toBe(({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[process.arch]);
  });

  it("refuses an architecture it has no program for, and says so", () => {
    let err: unknown;
    try {
      seccompFilter("riscv64");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PyroError);
    expect((err as PyroError).code).toBe("backend_unavailable");
    expect((err as PyroError).message).toContain("riscv64");
    expect((err as PyroError).message).toContain("no namespace sandbox without one");
    expect((err as PyroError).hint).toContain("x86_64, aarch64");
    // Not even a key of Object.prototype passes for an architecture.
    expect(() => seccompFilter("constructor")).toThrow(/no seccomp filter/);
  });

  it("refuses a damaged program", () => {
    const good = SECCOMP_PROGRAMS.x64;
    const flipped = Buffer.from(good.bpf, "base64");
    flipped[9] = flipped[9]! ^ 1;
    expect(() => seccompFilter("x64", { x64: { ...good, bpf: flipped.toString("base64") } })).toThrow(/damaged/);
    expect(() => seccompFilter("x64", { x64: { ...good, instructions: good.instructions + 1 } })).toThrow(/damaged/);
  });

  it("describes what it allows and what happens to the rest", () => {
    const f = seccompFilter("x64");
    const line = describeSeccomp(f);
    expect(line).toContain("pyro-default/x86_64");
    expect(line).toContain(`${f.allowed + f.conditional + f.errno} rules`);
    expect(line).toContain("EPERM");
    expect(line).toContain("other ABIs kill the process");
  });

  it("writes the whole program to the sandbox's pipe and closes it", async () => {
    const f = seccompFilter("x64");
    const pipe = new PassThrough();
    const chunks: Buffer[] = [];
    pipe.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => pipe.on("end", r));
    sendSeccompFilter(pipe, f);
    await ended;
    expect(Buffer.concat(chunks).equals(f.bpf)).toBe(true);
  });

  it("survives a sandbox that died before reading it (a broken pipe is not the manager's end)", () => {
    const pipe = new PassThrough();
    sendSeccompFilter(pipe, seccompFilter("x64"));
    expect(() => pipe.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).not.toThrow();
    expect(() => sendSeccompFilter(null, seccompFilter("x64"))).toThrow(/no pipe/);
  });

  it("is handed to bubblewrap as --seccomp FD", () => {
    const layout = { root: "/s/ns/root", runtime: "/s/ns/opt", emptyFile: "/s/ns/empty", emptyDir: "/s/ns/emptydir" };
    const args = bwrapArgs(layout, { hostname: "pyro", masks: { files: [], dirs: [] }, seccompFd: 6 });
    expect(args[args.indexOf("--seccomp") + 1]).toBe("6");
  });
});

describe.skipIf(!hasBwrap)("seccomp probe (real bubblewrap)", () => {
  it("finds this host's filter in force in a test sandbox", async () => {
    expect(await probeSeccomp(seccompFilter())).toBe("");
  });

  it("reports a program the kernel refuses", async () => {
    // One instruction with an opcode BPF does not have.
    const bad = { ...seccompFilter(), bpf: Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]) };
    expect(await probeSeccomp(bad)).toMatch(/bwrap ended with exit \d+/);
  });
});
