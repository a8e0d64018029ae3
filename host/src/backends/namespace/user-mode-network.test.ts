import { describe, expect, it } from "vitest";
import { slirpCommand } from "./user-mode-network.js";

describe("slirp4netns command", () => {
  const fds = { ready: 3, exit: 4 };

  it("runs slirp4netns in its own sandbox and seccomp filter, ending when its exit fd closes", () => {
    const argv = slirpCommand(42, fds, {}, false);
    expect(argv[0]).toBe("slirp4netns");
    for (const flag of ["--enable-sandbox", "--enable-seccomp", "--disable-host-loopback", "--exit-fd=4", "--ready-fd=3", "--userns-path=/proc/42/ns/user"]) {
      expect(argv).toContain(flag);
    }
    expect(argv.slice(-2)).toEqual(["42", "tap0"]);
  });

  it("drops a root manager to the sandbox's uid and gid before slirp4netns starts", () => {
    const argv = slirpCommand(42, fds, { uid: 65534, gid: 65534 }, true);
    expect(argv.slice(0, 4)).toEqual(["unshare", "--mount", "--propagation", "private"]);
    const script = argv[argv.indexOf("-c") + 1]!;
    expect(script).toContain('exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- slirp4netns "$@"');
    expect(argv.slice(argv.indexOf("-c") + 2, argv.indexOf("-c") + 5)).toEqual(["pyro-slirp4netns", "65534", "65534"]);
    expect(argv).toContain("--exit-fd=4");
  });

  it("keeps the manager's own uid when it is not root", () => {
    expect(slirpCommand(42, fds, { uid: 65534, gid: 65534 }, false)[0]).toBe("slirp4netns");
  });
});
