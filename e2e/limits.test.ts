/**
 * Resource limits with real sandboxes: memory, processes, CPU time and disk are enforced
 * where the host allows (a root manager on a cgroup host), exceeding one is a stable error
 * rather than a hang, and every result says which limits were in force.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pyro, startManager, type TestManager } from "./harness.js";

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

  it.runIf(root)("gives a command the CPU time of its vcpu_count, however many threads it spins", () => {
    // Three spinners for 2 s of wall time: about 2 CPU-seconds with one vCPU, not up to 6.
    const r = run(["--vcpu-count", "1"], "for i in 1 2 3; do timeout 2 sh -c 'while :; do :; done' & done; wait; times");
    expect(r.status, r.stderr).toBe(0);
    const [, children] = r.stdout.trim().split("\n");
    const seconds = (children ?? "").split(/\s+/).map((t) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t);
      return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
    });
    const cpu = seconds.reduce((a, b) => a + b, 0);
    expect(cpu).toBeGreaterThan(0.5);
    expect(cpu).toBeLessThan(3);
  });

  it.runIf(root)("bounds the sandbox's writable filesystem and reports disk_full", () => {
    const r = run(["--disk-mib", "200"], "dd if=/dev/zero of=/workspace/big bs=1M count=400 status=none");
    expect(r.status, r.stderr).toBe(125);
    expect(r.stderr).toContain("disk_full");
    expect(r.stderr).toMatch(/No space left on device/);
  });

  it("refuses limits out of range before starting anything", () => {
    const r = run(["--disk-mib", "16"], "true");
    expect(r.stderr).toContain("invalid_argument");
    expect(r.status).not.toBe(0);
  });
});
