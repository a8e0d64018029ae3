/** What a sandbox can see and touch of the host, and its network, with real sandboxes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { PYRO, pyro, startManager, type TestManager } from "./harness.js";

let m: TestManager;
let server: Server;
let port: number;
beforeAll(async () => {
  m = await startManager();
  server = createServer((s) => s.end("host-secret\n"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server?.close();
  await m?.stop();
});

const run = (args: string[], cmd: string) => pyro(["run", "debian:12", ...args, "--", "bash", "-c", cmd], m.env);

describe("namespace sandbox isolation", () => {
  it("does not show the host's files", () => {
    const secret = join(m.dir, "host-only-file");
    writeFileSync(secret, "secret");
    const r = run([], `test -e ${secret} && echo visible || echo hidden; ls /`);
    expect(r.stdout).toContain("hidden");
    expect(r.stdout).not.toContain("work\n"); // no host directories beside the environment's own
  });

  it("writes to / land in the sandbox's own layer, never on the host or in the environment", () => {
    const name = `pyro-e2e-marker-${process.pid}`;
    const r = run([], `echo x > /${name} && echo x > /etc/${name} && cat /${name}`);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(`/${name}`)).toBe(false);
    expect(existsSync(`/etc/${name}`)).toBe(false);
    // the next sandbox starts from the pristine environment
    expect(run([], `test -e /etc/${name} && echo leaked || echo clean`).stdout).toBe("clean\n");
  });

  it("runs the sandbox's processes as a non-root host user when the manager is root", async () => {
    const tag = `pyro-uid-probe-${process.pid}`;
    const child = spawn(process.execPath, [PYRO, "run", "debian:12", "--", "bash", "-c", `exec -a ${tag} sleep 3`], { env: m.env });
    let uidLine = "";
    for (let i = 0; i < 100 && !uidLine; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
          if (readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(tag)) {
            uidLine = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("Uid:"))!;
          }
        } catch {
          // gone
        }
      }
    }
    await new Promise((r) => child.once("exit", r));
    expect(uidLine).toMatch(/^Uid:/);
    const uid = Number(uidLine.split(/\s+/)[1]);
    if (process.getuid?.() === 0) expect(uid).not.toBe(0);
    else expect(uid).toBe(process.getuid?.());
    // and inside, it looks like root without being able to gain anything
    expect(run([], "id -u").stdout).toBe("0\n");
    expect(run([], "grep CapEff /proc/self/status").stdout).toMatch(/CapEff:\s+0+\n/);
  });

  it("has only loopback without --network, and cannot reach the host's loopback", () => {
    const r = run([], `cat /proc/net/dev; (echo > /dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo reached || echo unreachable`);
    const ifaces = r.stdout.split("\n").slice(2).filter((l) => l.includes(":")).map((l) => l.split(":")[0]!.trim());
    expect(ifaces).toEqual(["lo"]);
    expect(r.stdout).toContain("unreachable");
  });

  it("gets a user-mode network with --network, still without the host's loopback", () => {
    const r = run(["--network"], `cat /proc/net/dev; (echo > /dev/tcp/10.0.2.2/${port}) 2>/dev/null && echo reached || echo unreachable`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("tap0:");
    expect(r.stdout).toContain("unreachable");
  });

  it("has a private pid namespace and hostname", () => {
    const r = run([], "hostname; ls /proc | grep -c '^[0-9]'");
    const [hostname, count] = r.stdout.trim().split("\n");
    expect(hostname).toBe("pyro");
    expect(Number(count)).toBeLessThan(10);
  });
});
