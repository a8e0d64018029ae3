/**
 * Resource limits with real sandboxes: memory, processes, CPU time and disk are enforced
 * where the host allows (a root manager on a cgroup host), exceeding one is a stable error
 * rather than a hang, and every result says which limits were in force.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { detectCgroups } from "../host/src/backends/namespace/cgroups.js";
import { PYRO, pyro, startManager, type TestManager } from "./harness.js";

const readIfThere = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

let m: TestManager;
beforeAll(async () => {
  m = await startManager();
});
afterAll(async () => {
  await m?.stop();
});

const root = process.getuid?.() === 0;
const run = (flags: string[], script: string) => pyro(["run", ...flags, "debian:12", "--", "bash", "-c", script], m.env);
const json = (flags: string[], script: string) => {
  const r = pyro(["run", "--json", ...flags, "debian:12", "--", "bash", "-c", script], m.env);
  return { status: r.status, body: JSON.parse(r.stdout) as Record<string, unknown> & { limits: Record<string, { value: number; enforced: boolean; detail: string }> } };
};

describe("sandbox resource limits", () => {
  it("reports the limits in force with every result", () => {
    const { status, body } = json(["--vcpu-count", "2", "--mem-mib", "512", "--disk-mib", "1024"], "true");
    expect(status).toBe(0);
    expect(body.limits.vcpu_count).toMatchObject({ value: 2 });
    expect(body.limits.mem_mib).toMatchObject({ value: 512 });
    expect(body.limits.disk_mib).toMatchObject({ value: 1024 });
    expect(body.limits.pids?.value).toBeGreaterThan(0);
    for (const l of Object.values(body.limits)) {
      expect(l.enforced).toBe(root); // as root here: cgroups and a disk image; otherwise recorded, with the reason
      expect(l.detail).not.toBe("");
    }
  });

  it.runIf(root)("ends a command past its memory limit with out_of_memory, not a hang", () => {
    const r = run(["--mem-mib", "256"], `perl -e '$x = "a" x (1536 << 20); print length($x)'`);
    expect(r.status, r.stderr).toBe(137);
    expect(r.stderr).toContain("out_of_memory");
    expect(r.stdout).not.toContain("1610612736");
  });

  it.runIf(root)("refuses processes past the process limit and says so", () => {
    const r = run([], `perl -e 'for (1..3000) { my $p = fork; if (!defined $p) { print "refused after $_\\n"; exit 1 } if (!$p) { sleep 30; exit } }'`);
    expect(r.status, r.stderr).toBe(125);
    expect(Number(/refused after (\d+)/.exec(r.stdout)?.[1])).toBeLessThan(1024);
    expect(r.stderr).toContain("too_many_processes");
  });

  it.runIf(root)("gives a command the CPU time of its vcpu_count, however many threads it spins", async () => {
    // Seen from the host: the sandbox's cgroup has a quota of one CPU, and the kernel
    // throttles it while three spinners run (a CPU-time ratio alone depends on the load).
    const support = await detectCgroups();
    if (support.version === 0) throw new Error(`a root manager here should have cgroups: ${support.reason}`);
    const parent = support.version === 1 ? support.parents.cpu : support.parent;
    const child = spawn(process.execPath, [PYRO, "run", "--vcpu-count", "1", "debian:12", "--", "bash", "-c", "for i in 1 2 3; do timeout 3 sh -c 'while :; do :; done' & done; wait; times"], { env: m.env });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    let stat = "";
    let quota = "";
    for (let i = 0; i < 100 && !/nr_throttled [1-9]/.test(stat); i++) {
      await sleep(100);
      // This manager's sandboxes (the run may get one the pool made ahead); the one spinning is throttled.
      const ours = new Set(readdirSync(join(m.stateDir, "sandboxes")));
      for (const name of existsSync(parent) ? readdirSync(parent) : []) {
        if (!ours.has(name)) continue;
        const dir = join(parent, name);
        stat = readIfThere(join(dir, "cpu.stat"));
        quota = support.version === 1 ? readIfThere(join(dir, "cpu.cfs_quota_us")) : readIfThere(join(dir, "cpu.max"));
        if (/nr_throttled [1-9]/.test(stat)) break;
      }
    }
    expect(await exited).toBe(0);
    expect(quota.trim()).toMatch(/^100000( 100000)?$/);
    expect(stat).toMatch(/nr_throttled [1-9]/);
    // And from inside: three spinners for 3 s got about 3 CPU-seconds, not up to 9.
    const children = out.trim().split("\n")[1] ?? "";
    const cpu = children.split(/\s+/).reduce((sum, t) => {
      const mt = /^(\d+)m([\d.]+)s$/.exec(t);
      return sum + (mt ? Number(mt[1]) * 60 + Number(mt[2]) : 0);
    }, 0);
    expect(cpu).toBeGreaterThan(0.5);
    expect(cpu).toBeLessThan(4);
  });

  it.runIf(root)("bounds the sandbox's writable filesystem and reports disk_full", () => {
    const r = run(["--disk-mib", "200"], "dd if=/dev/zero of=/workspace/big bs=1M count=400 status=none");
    expect(r.status, r.stderr).toBe(125);
    expect(r.stderr).toContain("disk_full");
    expect(r.stderr).toMatch(/No space left on device/);
  });

  it("are listed by pyro doctor with the rest of the isolation in force", () => {
    const r = pyro(["doctor", "--json"], m.env);
    expect(r.status, r.stderr).toBe(0);
    const checks = new Map((JSON.parse(r.stdout).checks as { name: string; status: string; detail: string }[]).map((c) => [c.name, c]));
    for (const name of ["seccomp", "cgroup_limits", "disk_limit", "egress_filter", "isolation"]) expect(checks.has(name), name).toBe(true);
    expect(checks.get("cgroup_limits")?.status).toBe(root ? "ok" : "warn");
    expect(checks.get("disk_limit")?.status).toBe(root ? "ok" : "warn");
    expect(checks.get("isolation")?.detail).toContain("namespaces");
  });

  it("refuses limits out of range before starting anything", () => {
    const r = run(["--disk-mib", "16"], "true");
    expect(r.stderr).toContain("invalid_argument");
    expect(r.status).not.toBe(0);
  });
});
