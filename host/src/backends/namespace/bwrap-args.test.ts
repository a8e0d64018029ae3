import { describe, expect, it } from "vitest";
import { bwrapArgs, encodeArgs } from "./bwrap-args.js";

const layout = { root: "/s/ns/root", runtime: "/s/ns/opt", emptyFile: "/s/ns/empty", emptyDir: "/s/ns/emptydir" };
const masks = { files: ["/proc/cmdline"], dirs: ["/proc/acpi"] };

describe("bwrap arguments", () => {
  it("start every namespace, drop every capability, and put the overlay at /", () => {
    const args = bwrapArgs(layout, { hostname: "pyro", masks });
    for (const flag of ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent", "--new-session", "--clearenv"]) {
      expect(args).toContain(flag);
    }
    const text = args.join(" ");
    expect(text).toContain("--cap-drop ALL");
    expect(text).toContain("--bind /s/ns/root /");
    expect(text).toContain("--ro-bind /s/ns/opt /opt/pyro");
    expect(args).not.toContain("--"); // the command follows on bwrap's own command line
  });

  it("let a durable sandbox outlive the manager that launched it", () => {
    expect(bwrapArgs(layout, { hostname: "pyro", masks, dieWithParent: false })).not.toContain("--die-with-parent");
    expect(bwrapArgs(layout, { hostname: "pyro", masks, dieWithParent: true })).toContain("--die-with-parent");
  });

  it("mask the host's boot command line and the like with empty files and directories", () => {
    const text = bwrapArgs(layout, { hostname: "pyro", masks }).join(" ");
    expect(text).toContain("--ro-bind /s/ns/empty /proc/cmdline");
    expect(text).toContain("--ro-bind /s/ns/emptydir /proc/acpi");
  });

  it("keep their own network namespace with --network (a user-mode stack is attached to it)", () => {
    const args = bwrapArgs({ ...layout, resolvConf: "/s/ns/resolv.conf" }, { hostname: "pyro", masks, infoFd: 4, syncFd: 7 });
    expect(args).toContain("--unshare-net");
    expect(args.join(" ")).toContain("--sync-fd 7");
    expect(args.join(" ")).toContain("--info-fd 4");
    expect(args.join(" ")).toContain("--ro-bind /s/ns/resolv.conf /etc/resolv.conf");
  });

  it("travel NUL-terminated, and refuse a NUL inside one", () => {
    expect(encodeArgs(["a", "b c"]).toString()).toBe("a\0b c\0");
    expect(() => encodeArgs(["a\0b"])).toThrow();
  });
});
