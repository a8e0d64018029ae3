import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSandboxCgroup, detectCgroups, endSandboxCgroup } from "./cgroups.js";

const dir = mkdtempSync(join(tmpdir(), "pyro-cgroups-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const resources = { vcpuCount: 2, memMib: 256, diskMib: 1024, pidsMax: 100 };

// The shape of /proc/self/mountinfo lines: id parent dev root mountpoint options - fstype source super-options.
const mount = (point: string, fstype: string, superOptions: string) => `30 23 0:28 / ${point} rw,relatime - ${fstype} ${fstype} ${superOptions}`;

describe("cgroup detection", () => {
  it("uses v1 controllers where they are mounted (a hybrid host), below the manager's own cgroup", async () => {
    const root = join(dir, "v1");
    for (const c of ["memory", "pids", "cpu,cpuacct"]) mkdirSync(join(root, c, "session"), { recursive: true });
    const support = await detectCgroups({
      mountinfo: [mount(`${root}/memory`, "cgroup", "rw,memory"), mount(`${root}/pids`, "cgroup", "rw,pids"), mount(`${root}/cpu,cpuacct`, "cgroup", "rw,cpu,cpuacct"), mount(`${root}/unified`, "cgroup2", "rw")].join("\n"),
      selfCgroup: "4:memory:/session\n8:pids:/session\n1:cpu,cpuacct:/session\n0::/\n",
    });
    expect(support).toEqual({
      version: 1,
      parents: { memory: `${root}/memory/session/pyro`, pids: `${root}/pids/session/pyro`, cpu: `${root}/cpu,cpuacct/session/pyro` },
      detail: "cgroup v1 (memory, pids, cpu)",
    });
  });

  it("uses v2 when its hierarchy has the controllers", async () => {
    const root = join(dir, "v2");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n");
    const support = await detectCgroups({ mountinfo: mount(root, "cgroup2", "rw"), selfCgroup: "0::/user.slice\n" });
    expect(support).toMatchObject({ version: 2, parent: `${root}/pyro` });
  });

  it("says why when the v2 hierarchy lacks controllers (held by v1)", async () => {
    const root = join(dir, "v2-empty");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "cgroup.controllers"), "hugetlb\n");
    const support = await detectCgroups({ mountinfo: mount(root, "cgroup2", "rw"), selfCgroup: "0::/\n" });
    expect(support).toEqual({ version: 0, reason: expect.stringContaining("no memory, pids, cpu controller") });
  });
});

describe("sandbox cgroups", () => {
  it("write v1 limits: memory with swap, processes, and a CPU quota of vcpu_count CPUs", async () => {
    const parents = { memory: join(dir, "c1", "memory"), pids: join(dir, "c1", "pids"), cpu: join(dir, "c1", "cpu") };
    // A real cgroupfs shows these files in every new cgroup; a plain directory needs them made.
    const cg = await createSandboxCgroup({ version: 1, parents, detail: "cgroup v1" }, "sb-1", resources).catch(() => undefined);
    // On a plain directory memsw does not exist, so only the limit files are written.
    expect(cg?.procsFiles).toEqual([join(parents.memory, "sb-1", "cgroup.procs"), join(parents.pids, "sb-1", "cgroup.procs"), join(parents.cpu, "sb-1", "cgroup.procs")]);
    expect(readFileSync(join(parents.memory, "sb-1", "memory.limit_in_bytes"), "utf8")).toBe(String(256 << 20));
    expect(readFileSync(join(parents.pids, "sb-1", "pids.max"), "utf8")).toBe("100");
    expect(readFileSync(join(parents.cpu, "sb-1", "cpu.cfs_quota_us"), "utf8")).toBe("200000");
    writeFileSync(join(parents.memory, "sb-1", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    expect(await cg!.oomKills()).toBe(2);
    expect(await cg!.pidsLimitHit()).toBe(false);
  });

  it("end only what is named as a sandbox id, never a path", async () => {
    const support = { version: 1 as const, parents: { memory: join(dir, "c2"), pids: join(dir, "c2"), cpu: join(dir, "c2") }, detail: "cgroup v1" };
    for (const id of ["..", "../sb-1", "sb-1/..", "", "sb-"]) await expect(endSandboxCgroup(support, id)).rejects.toThrow(/not a sandbox id/);
  });
});
