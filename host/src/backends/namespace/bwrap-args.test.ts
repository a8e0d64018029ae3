import { describe, expect, it } from "vitest";
import { namespaceSandboxArgv } from "./bwrap-args.js";

const layout = { lower: "/c/rootfs", upper: "/s/upper", work: "/s/work", merged: "/s/root", runtime: "/c/rt", run: "/s/run", workspace: "/s/ws" };

describe("namespace sandbox argv", () => {
  it("starts bwrap with every namespace, no capabilities, and the overlay as root", () => {
    const argv = namespaceSandboxArgv(layout, { network: false, hostname: "pyro" }, ["/opt/pyro/agent"]);
    expect(argv.slice(0, 2)).toEqual(["unshare", "--user"]);
    expect(argv).toContain("lowerdir=/c/rootfs,upperdir=/s/upper,workdir=/s/work");
    const bwrap = argv.slice(argv.indexOf("bwrap"));
    for (const flag of ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent", "--new-session"]) {
      expect(bwrap).toContain(flag);
    }
    expect(bwrap.join(" ")).toContain("--cap-drop ALL");
    expect(bwrap.join(" ")).toContain("--ro-bind /c/rt /opt/pyro");
    expect(bwrap.join(" ")).toContain("--bind /s/root /");
    expect(bwrap.slice(-1)).toEqual(["/opt/pyro/agent"]);
  });

  it("keeps its own network namespace with --network (a user-mode stack is attached to it)", () => {
    const argv = namespaceSandboxArgv({ ...layout, resolvConf: "/s/resolv.conf" }, { network: true, hostname: "pyro", infoFd: 3, syncFd: 4 }, ["x"]);
    expect(argv).toContain("--unshare-net");
    expect(argv.join(" ")).toContain("--info-fd 3");
    expect(argv.join(" ")).toContain("--sync-fd 4");
    expect(argv.join(" ")).toContain("--ro-bind /s/resolv.conf /etc/resolv.conf");
  });

  it("refuses paths that would break the overlay options", () => {
    expect(() => namespaceSandboxArgv({ ...layout, upper: "/s/a,lowerdir=/" }, { network: false, hostname: "pyro" }, ["x"])).toThrow();
  });
});
