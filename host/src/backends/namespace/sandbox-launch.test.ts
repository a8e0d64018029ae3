import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { launchArgv, setupScript, shellQuote } from "./sandbox-launch.js";

const plan = { dir: "/var/lib/pyro/sandboxes/sb-1", rootfs: "/var/cache/pyro/environments/debian-12/1/rootfs", runtime: "/var/cache/pyro/runtime/k", network: false };

describe("sandbox launch", () => {
  it("runs as real root in a private mount namespace only to drop to the sandbox user before bubblewrap", () => {
    const argv = launchArgv({ ...plan, user: { uid: 65534, gid: 65534 } }, ["/opt/pyro/agent"]);
    expect(argv.slice(0, 4)).toEqual(["unshare", "--mount", "--propagation", "private"]);
    const script = argv[argv.indexOf("-c") + 1]!;
    expect(script).toMatch(/exec env -i setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- bwrap --args 3 -- "\$@"$/);
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
    expect(setupScript({ ...plan, rootfs: odd })).toContain(`ln -s ${shellQuote(odd)} lower`);
  });
});
