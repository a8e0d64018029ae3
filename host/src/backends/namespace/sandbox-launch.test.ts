import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchArgv, layoutSandboxDir, setupScript, shellQuote } from "./sandbox-launch.js";

const plan = { dir: "/var/lib/pyro/sandboxes/sb-1", rootfs: "/var/cache/pyro/environments/debian-12/1/rootfs", runtime: "/var/cache/pyro/runtime/k", network: false };

describe("sandbox launch", () => {
  it("runs as real root in a private mount namespace only to drop to the sandbox user before bubblewrap", () => {
    const argv = launchArgv({ ...plan, user: { uid: 65534, gid: 65534 } }, ["/opt/pyro/agent"]);
    expect(argv.slice(0, 4)).toEqual(["unshare", "--mount", "--propagation", "private"]);
    const script = argv[argv.indexOf("-c") + 1]!;
    expect(script).toMatch(/exec -c setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- bwrap --args 3 -- "\$@"$/);
    expect(argv.slice(-2)).toEqual(["pyro-sandbox-setup", "/opt/pyro/agent"]);
  });

  it("uses a user namespace of its own when the manager is not root", () => {
    const argv = launchArgv(plan, ["x"]);
    expect(argv.slice(0, 3)).toEqual(["unshare", "--user", "--map-root-user"]);
    expect(argv.join(" ")).not.toContain("setpriv");
  });

  it("mounts with short relative names, so the mount options shown inside carry no host path", () => {
    const script = setupScript(plan);
    const mounts = script.split("\n").filter((l) => l.startsWith("mount "));
    expect(mounts.length).toBeGreaterThan(0);
    for (const m of mounts) expect(m).not.toContain("/var/");
    expect(script).toContain("lowerdir=lower,upperdir=upper,workdir=work");
  });

  it("quotes every path it is given for the shell", () => {
    const odd = "/tmp/it's $(dangerous) `x`";
    expect(spawnSync("/bin/sh", ["-c", `printf %s ${shellQuote(odd)}`], { encoding: "utf8" }).stdout).toBe(odd);
    expect(setupScript({ ...plan, dir: odd })).toContain(`cd ${shellQuote(`${odd}/ns`)}`);
    expect(setupScript({ ...plan, cgroupProcs: [`${odd}/cgroup.procs`] })).toContain(`echo $$ > ${shellQuote(`${odd}/cgroup.procs`)}`);
  });

  it("only joins cgroups and mounts: it makes, changes or follows nothing the sandbox can write", () => {
    const script = setupScript({ ...plan, user: { uid: 65534, gid: 65534 }, disk: true, cgroupProcs: ["/sys/fs/cgroup/pids/pyro/sb-1/cgroup.procs"] });
    const programs = script.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((w) => /^[a-z]/.test(w!));
    expect([...new Set(programs)].sort()).toEqual(["cd", "echo", "exec", "for", "mount", "set"]);
  });

  it("lays out the links it mounts from, and a new writable layer, without touching an existing one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyro-launch-"));
    try {
      await layoutSandboxDir({ ...plan, dir });
      expect(readlinkSync(join(dir, "ns", "lower"))).toBe(plan.rootfs);
      expect(readlinkSync(join(dir, "ns", "upper"))).toBe("../upper");
      expect(readdirSync(join(dir, "upper"))).toEqual(["workspace"]);
      rmSync(join(dir, "ns"), { recursive: true });
      writeFileSync(join(dir, "upper", "workspace", "kept"), "x");
      await layoutSandboxDir({ ...plan, dir, disk: true });
      expect(readlinkSync(join(dir, "ns", "upper"))).toBe("../disk/upper");
      expect(readdirSync(join(dir, "upper", "workspace"))).toEqual(["kept"]);
      // Again, as a stopped sandbox starts: the links are remade, with what the runtime is now.
      await layoutSandboxDir({ ...plan, dir, disk: true, runtime: "/var/cache/pyro/runtime/newer" });
      expect(readlinkSync(join(dir, "ns", "rt"))).toBe("/var/cache/pyro/runtime/newer");
      expect(readdirSync(join(dir, "upper", "workspace"))).toEqual(["kept"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
