/**
 * `--network` means the internet, not the host: what a sandbox can reach through its
 * user-mode stack, and how that stack's helper (slirp4netns) runs and ends. Connections to
 * blocked destinations are refused inside the sandbox's own network namespace, so none of
 * them leaves it; only the positive check goes out, to a public address the host reaches.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { lookup } from "node:dns/promises";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { BlockList, connect, createServer, isIPv4, type Server } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { egressPolicy, hostAddresses } from "../host/src/backends/namespace/egress-policy.js";
import { PYRO, managerLog, pyro, startManager, type TestManager } from "./harness.js";

/** Where the positive check connects (host:port); a name is resolved on the host first. */
const PUBLIC_TCP = process.env.PYRO_E2E_PUBLIC_TCP || "deb.debian.org:80";

let m: TestManager;
let server: Server;
let port: number;
beforeAll(async () => {
  m = await startManager();
  // The kind of host service the sandbox must not reach: one bound to every address.
  server = createServer((s) => s.on("error", () => {}).end("host-secret\n"));
  await new Promise<void>((r) => server.listen(0, "0.0.0.0", r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server?.close();
  await m?.stop();
});

const runNet = (t: TestManager, cmd: string) => pyro(["run", "debian:12", "--network", "--", "bash", "-c", cmd], t.env);

/** A shell line that tries a TCP connect to host:port, bounded, and prints `RESULT <target> <status> <last error line>`. */
function probe(host: string, p: number): string {
  const target = `${host}/${p}`;
  return `out=$(timeout 10 bash -c 'exec 3<>/dev/tcp/${target} && echo connected' 2>&1); echo "RESULT ${target} $? $(echo "$out" | tail -1)"`;
}

function results(stdout: string): Map<string, { status: number; text: string }> {
  const out = new Map<string, { status: number; text: string }>();
  for (const line of stdout.split("\n")) {
    const m = /^RESULT (\S+) (\d+) ?(.*)$/.exec(line);
    if (m) out.set(m[1]!, { status: Number(m[2]), text: m[3]! });
  }
  return out;
}

/** True when the host itself opens a TCP connection to host:port within 5 s. */
function hostConnects(host: string, p: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect({ host, port: p, timeout: 5000 });
    s.once("connect", () => (s.destroy(), ok(true)));
    s.once("timeout", () => (s.destroy(), ok(false)));
    s.once("error", () => ok(false));
  });
}

/** Host-side processes named `comm` whose parent is `ppid`. */
function childrenNamed(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [name, rest] = [stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), stat.slice(stat.lastIndexOf(")") + 2).split(" ")];
      if (name === comm && Number(rest[1]) === ppid) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A process's identity across pid reuse: its start time (field 22 of /proc/<pid>/stat), or undefined once it is gone or a zombie. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

async function waitFor<T>(f: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; await sleep(50)) {
    const v = f();
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Waits (bounded) for every process in `procs` to be gone; kills (by pid) and returns those that are not. */
async function leftBehind(procs: Map<number, string>, timeoutMs: number): Promise<number[]> {
  await waitFor(() => ([...procs].every(([pid, start]) => startTime(pid) !== start) ? true : undefined), timeoutMs);
  const left = [...procs].filter(([pid, start]) => startTime(pid) === start).map(([pid]) => pid);
  for (const pid of left) process.kill(pid, "SIGKILL");
  return left;
}

describe("--network reaches the internet, not the host", () => {
  it("refuses the host's own addresses at once, though a service listens on 0.0.0.0", async () => {
    const own = hostAddresses().filter((a) => isIPv4(a) && !a.startsWith("127."));
    expect(own.length, "this host has no non-loopback IPv4 address to test with").toBeGreaterThan(0);
    for (const a of own) expect(await hostConnects(a, port), `the host reaches its own ${a}:${port}`).toBe(true);
    const r = runNet(m, own.map((a) => probe(a, port)).join("; "));
    expect(r.status, r.stderr).toBe(0);
    for (const a of own) {
      // A reset, not a drop: the connect fails with "Connection refused", not by `timeout` (124).
      expect(results(r.stdout).get(`${a}/${port}`), `${a}:${port}`).toMatchObject({ status: 1, text: expect.stringContaining("Connection refused") });
    }
    expect(r.stdout).not.toContain("connected");
  });

  it("refuses the host's loopback alias, cloud metadata, private, shared and link-local ranges", () => {
    const targets: [string, number][] = [
      ["10.0.2.2", port], // the user-mode stack's alias for the host's 127.0.0.1
      ["169.254.169.254", 80], // cloud metadata
      ["10.0.2.3", 80], // the DNS forwarder relays any port to the host's resolver; only 53 is allowed
      ["10.1.2.3", 80],
      ["172.16.0.1", 80],
      ["192.168.0.1", 80],
      ["100.64.0.1", 80],
      ["127.0.0.2", port], // the sandbox's own loopback: nothing listens there, and it is not the host's
    ];
    const r = runNet(m, targets.map(([h, p]) => probe(h, p)).join("; "));
    expect(r.status, r.stderr).toBe(0);
    const got = results(r.stdout);
    for (const [h, p] of targets) expect(got.get(`${h}/${p}`), `${h}:${p}`).toMatchObject({ status: 1, text: expect.stringContaining("Connection refused") });
  });

  it("has no IPv6 route to the host", (ctx) => {
    const v6 = hostAddresses().filter((a) => a.includes(":") && a !== "::1" && !a.startsWith("fe80:"));
    if (v6.length === 0) ctx.skip("this host has no non-loopback IPv6 address");
    const r = runNet(m, v6.map((a) => probe(a, port)).join("; "));
    for (const a of v6) {
      const got = results(r.stdout).get(`${a}/${port}`);
      expect(got?.status, `${a}: ${got?.text}`).toBe(1); // refused or unreachable, never connected nor hanging
    }
  });

  it("answers DNS through the user-mode stack's forwarder (10.0.2.3)", async (ctx) => {
    const name = PUBLIC_TCP.split(":")[0]!;
    if (!(await lookup(name).then(() => true, () => false))) ctx.skip(`the host cannot resolve ${name}`);
    const r = runNet(m, `cat /etc/resolv.conf; getent ahostsv4 ${name} | head -1`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("nameserver 10.0.2.3");
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\.\d+\s/m);
  });

  it("reaches a public address", async (ctx) => {
    const [name, p] = [PUBLIC_TCP.slice(0, PUBLIC_TCP.lastIndexOf(":")), Number(PUBLIC_TCP.slice(PUBLIC_TCP.lastIndexOf(":") + 1))];
    const addrs = await lookup(name, { all: true, family: 4 }).catch(() => []);
    if (addrs.length === 0) ctx.skip(`the host cannot resolve ${name}: no way to pick a public address here (set PYRO_E2E_PUBLIC_TCP=host:port)`);
    const blocked = new BlockList();
    // IPv4 ranges only: a BlockList also applies IPv6 rules (::ffff:0:0/96) to IPv4 addresses.
    for (const b of egressPolicy(hostAddresses()).block) {
      const [a, len] = b.cidr.split("/");
      if (isIPv4(a!)) blocked.addSubnet(a!, Number(len ?? 32), "ipv4");
    }
    const open = addrs.map((a) => a.address).filter((a) => !blocked.check(a, "ipv4"));
    if (open.length === 0) {
      // Refused, as it must be; but then this host offers no public address to show reachability with.
      const r = runNet(m, probe(addrs[0]!.address, p));
      expect(results(r.stdout).get(`${addrs[0]!.address}/${p}`)?.text).toContain("Connection refused");
      ctx.skip(`${name} resolves to ${addrs.map((a) => a.address).join(", ")} here, which is not the public internet (e.g. a proxy on a reserved range), so the sandbox is rightly refused; set PYRO_E2E_PUBLIC_TCP=<public ip>:<port> to check reachability`);
    }
    if (!(await hostConnects(open[0]!, p))) ctx.skip(`no outbound route: the host itself cannot reach ${open[0]}:${p}`);
    const r = runNet(m, probe(open[0]!, p));
    expect(results(r.stdout).get(`${open[0]}/${p}`), r.stderr).toMatchObject({ status: 0, text: "connected" });
  });
});

describe("pyro doctor", () => {
  it("reports the egress filter of --network", () => {
    const r = pyro(["doctor", "--json"], m.env);
    expect(r.status, r.stderr).toBe(0);
    const check = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === "egress_filter");
    expect(check).toMatchObject({ status: "ok", detail: expect.stringContaining("link-local (cloud metadata)") });
  });
});

describe("the user-mode network's helper", () => {
  it("runs unprivileged, in its own sandbox and seccomp filter, and ends with its sandbox", async () => {
    const t = await startManager({ PYRO_POOL_SIZE: "0" });
    const helpers = new Map<number, string>();
    try {
      const run = spawn(process.execPath, [PYRO, "run", "debian:12", "--network", "--", "sleep", "5"], { env: t.env, stdio: "ignore" });
      const exited = new Promise((r) => run.once("exit", r));
      const pid = await waitFor(() => childrenNamed(t.pid, "slirp4netns")[0], 30_000);
      expect(pid, managerLog(t)).toBeDefined();
      helpers.set(pid!, startTime(pid!)!);
      // Read once it has set itself up: slirp4netns configures the interface first and only
      // then enters its own sandbox (drops capabilities, installs its filter).
      let status = readFileSync(`/proc/${pid}/status`, "utf8");
      for (let i = 0; i < 100 && !/^Seccomp:\s+2$/m.test(status); i++) {
        await sleep(50);
        status = readFileSync(`/proc/${pid}/status`, "utf8");
      }
      const field = (name: string) => status.split("\n").find((l) => l.startsWith(`${name}:`))!.split(/\s+/).slice(1);
      const uids = field("Uid").map(Number);
      if (process.getuid?.() === 0) for (const u of uids) expect(u, "slirp4netns runs as host root").not.toBe(0);
      else expect(new Set(uids)).toEqual(new Set([process.getuid?.()]));
      // What its own sandbox keeps: CAP_NET_BIND_SERVICE (bit 10) at most, and only in the sandbox's user namespace.
      expect(BigInt(`0x${field("CapEff")[0]}`) & ~(1n << 10n), status).toBe(0n);
      expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync("/proc/self/ns/user"));
      expect(field("NoNewPrivs")[0]).toBe("1");
      expect(field("Seccomp")[0]).toBe("2");
      // Its exit fd's other end is bubblewrap's alone: the manager kept no copy, so only the sandbox's end ends it.
      const exitEnd = readlinkSync(`/proc/${pid}/fd/4`);
      expect(exitEnd).toMatch(/^socket:/);
      expect(readdirSync(`/proc/${t.pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${t.pid}/fd/${fd}`); } catch { return ""; } })).not.toContain(exitEnd);
      await exited;
      // The run is over and its sandbox destroyed: the helper is gone too.
      expect(await leftBehind(helpers, 5000)).toEqual([]);
    } finally {
      await t.stop();
      await leftBehind(helpers, 2000);
    }
  });

  it("is not left behind when the manager is killed during a run", async () => {
    const t = await startManager({ PYRO_POOL_SIZE: "0" });
    const helpers = new Map<number, string>();
    try {
      const run = spawn(process.execPath, [PYRO, "run", "debian:12", "--network", "--", "sleep", "60"], { env: t.env, stdio: "ignore" });
      const exited = new Promise((r) => run.once("exit", r));
      const pid = await waitFor(() => childrenNamed(t.pid, "slirp4netns")[0], 30_000);
      expect(pid, managerLog(t)).toBeDefined();
      helpers.set(pid!, startTime(pid!)!);
      // Let the run's command start, so the helper is serving a live sandbox when the manager dies.
      await sleep(500);
      process.kill(t.pid, "SIGKILL");
      expect(await leftBehind(helpers, 10_000), "slirp4netns outlived its sandbox").toEqual([]);
      await exited;
    } finally {
      await t.stop();
      await leftBehind(helpers, 0);
    }
  });
});
