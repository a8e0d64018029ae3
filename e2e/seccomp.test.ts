/**
 * The seccomp filter around every namespace sandbox, tested from inside real sandboxes:
 * each refusal is a raw system call made with perl (perl-base is in every Debian
 * environment), and ordinary work — shells, git, threads, spawning, loopback TCP and the
 * agent itself — keeps working under it.
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

const ARCH = ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[process.arch];

/** Runs argv in a fresh debian:12 sandbox; the run's JSON result. */
function run(argv: string[]): { exit_code: number; stdout: string; stderr: string; seccomp: string } {
  const r = pyro(["run", "debian:12", "--json", "--", ...argv], m.env);
  expect(r.stdout, r.stderr).toMatch(/^\{/);
  return JSON.parse(r.stdout);
}

/** System call numbers; x86_64 has its own table, aarch64 the generic one. */
const NR: Record<string, Record<string, number>> = {
  x64: { socket: 41, socketpair: 53, clone: 56, personality: 135, mount: 165, exit_group: 231, keyctl: 250, unshare: 272, perf_event_open: 298, setns: 308, bpf: 321, userfaultfd: 323, io_uring_setup: 425, clone3: 435 },
  arm64: { socket: 198, socketpair: 199, clone: 220, personality: 92, mount: 40, exit_group: 94, keyctl: 219, unshare: 97, perf_event_open: 241, setns: 268, bpf: 280, userfaultfd: 282, io_uring_setup: 425, clone3: 435 },
};

/**
 * Each probe prints "<name> <errno>" (0: the call succeeded). Every probe here succeeds,
 * or fails with another errno than the filter's, in the same sandbox without the filter.
 */
const PROBES = String.raw`
sub probe { my ($name, $call, @args) = @_; $! = 0; my $r = syscall($nr{$call}, @args); print "$name ", ($r < 0 ? $!+0 : 0), "\n"; return $r; }
probe("socket_vsock", "socket", 40, 1, 0);                      # AF_VSOCK, SOCK_STREAM
probe("socket_vsock_high_bits", "socket", 0x100000028, 1, 0);   # the kernel reads an int: still AF_VSOCK
probe("socket_alg", "socket", 38, 5, 0);                        # AF_ALG: a family no build needs
probe("socket_unix", "socket", 1, 1, 0);
probe("socket_inet", "socket", 2, 1, 0);
probe("socket_inet6", "socket", 10, 2, 0);
probe("socket_netlink", "socket", 16, 3, 0);
my $pair = "\0" x 8; probe("socketpair_unix", "socketpair", 1, 1, 0, $pair);
my $pid = probe("clone_newuser", "clone", 0x10000000 | 17, 0, 0, 0, 0);   # CLONE_NEWUSER | SIGCHLD
if ($pid == 0) { syscall($nr{exit_group}, 0) } elsif ($pid > 0) { waitpid($pid, 0) }
probe("clone3", "clone3", 0, 0);
probe("keyctl", "keyctl", 0, -3, 1);                            # KEYCTL_GET_KEYRING_ID of the session keyring
my $params = "\0" x 120; probe("io_uring_setup", "io_uring_setup", 1, $params);
my $attr = pack("LLQQQQQ", 1, 128, 1, 0, 0, 0, 1 | (1 << 5) | (1 << 6)) . ("\0" x 80);   # software task clock, own task, user only
probe("perf_event_open", "perf_event_open", $attr, 0, -1, -1, 0);
probe("bpf", "bpf", 0x7fff, 0, 0);                              # EINVAL unfiltered
probe("userfaultfd", "userfaultfd", 0x80000 | 1);               # O_CLOEXEC | UFFD_USER_MODE_ONLY
probe("personality_query", "personality", 0xffffffff);
probe("personality_linux32", "personality", 0x0008);
probe("personality_addr_no_randomize", "personality", 0x0040000);
probe("personality_read_implies_exec", "personality", 0x0400000);
probe("mount", "mount", 0, 0, 0, 0, 0);                         # EFAULT unfiltered
probe("setns", "setns", -1, 0);                                 # EBADF unfiltered
probe("unshare_files", "unshare", 0x400);                       # CLONE_FILES: no namespace
probe("unshare_newuser", "unshare", 0x10000000);                # last: unfiltered it would succeed
`;

const EPERM = 1;
const ENOSYS = 38;

describe.skipIf(!ARCH)("seccomp in namespace sandboxes", () => {
  let probes: Record<string, number> = {};
  beforeAll(() => {
    const nr = NR[process.arch]!;
    const script = `my %nr = (${Object.entries(nr).map(([k, v]) => `${k} => ${v}`).join(", ")});\n${PROBES}`;
    const r = run(["perl", "-e", script]);
    expect(r.exit_code, r.stderr).toBe(0);
    probes = Object.fromEntries(r.stdout.trim().split("\n").map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])]));
  });

  it("says which filter a run had", () => {
    expect(run(["true"]).seccomp).toBe(`pyro-default/${ARCH}`);
  });

  it.each([
    ["socket_vsock", "no AF_VSOCK socket"],
    ["socket_vsock_high_bits", "no AF_VSOCK socket hidden behind high bits"],
    ["socket_alg", "no socket of a family outside the list"],
    ["clone_newuser", "no clone into a new user namespace"],
    ["unshare_newuser", "no unshare into a new user namespace"],
    ["setns", "no setns"],
    ["keyctl", "no keyctl"],
    ["io_uring_setup", "no io_uring"],
    ["perf_event_open", "no perf_event_open"],
    ["bpf", "no bpf"],
    ["userfaultfd", "no userfaultfd"],
    ["personality_addr_no_randomize", "no personality(ADDR_NO_RANDOMIZE)"],
    ["personality_read_implies_exec", "no personality(READ_IMPLIES_EXEC)"],
    ["mount", "no mount"],
  ])("refuses %s with EPERM: %s", (probe) => {
    expect(probes[probe]).toBe(EPERM);
  });

  it("answers clone3 with ENOSYS, so libc falls back to clone, whose flags are checked", () => {
    expect(probes.clone3).toBe(ENOSYS);
  });

  it.each(["socket_unix", "socket_inet", "socket_inet6", "socket_netlink", "socketpair_unix", "personality_query", "personality_linux32", "unshare_files"])("allows %s", (probe) => {
    expect(probes[probe]).toBe(0);
  });

  it.skipIf(process.arch !== "x64")("kills a process that makes an x32 system call", () => {
    // getpid with the x32 bit; without the filter the kernel answers ENOSYS (or the pid) and perl goes on.
    const r = run(["bash", "-c", 'perl -e "syscall(0x40000000 | 39); print qq(alive\\n)"; echo "status=$?"']);
    expect(r.stdout).toBe("status=159\n"); // 128 + SIGSYS
  });

  it.skipIf(process.arch !== "x64")("kills a process that makes an i386 system call (int 0x80)", () => {
    const elf = int80Elf().toString("base64");
    const r = run(["bash", "-c", `echo ${elf} | base64 -d > /tmp/int80 && chmod +x /tmp/int80 && /tmp/int80; echo "status=$?"`]);
    expect(r.stdout).toBe("status=159\n"); // without the filter: "int80 ran" and status=0
  });

  it("keeps ordinary work working: shells, pipes, git, fork and exec, threads, /proc", () => {
    const script = [
      "set -euo pipefail",
      "echo pipe:$(echo hello | tr a-z A-Z)",
      "git --version",
      "cd /tmp && git init -q repo && cd repo && git -c user.email=a@b -c user.name=n commit -q --allow-empty -m first && echo commits:$(git rev-list --count HEAD)",
      "(sleep 0.01 & wait) && echo forked",
      // sort starts threads (glibc's pthread_create tries clone3 first, then clone)
      "echo sorted:$(seq 1 300000 | sort -rn --parallel=4 -S 2M | head -1)",
      "echo procs:$(ls /proc | grep -c '^[0-9]')",
    ].join("\n");
    const r = run(["bash", "-c", script]);
    expect(r.exit_code, r.stderr).toBe(0);
    expect(r.stdout).toContain("pipe:HELLO\n");
    expect(r.stdout).toMatch(/^git version \d/m);
    expect(r.stdout).toContain("commits:1\n");
    expect(r.stdout).toContain("forked\n");
    expect(r.stdout).toContain("sorted:300000\n");
    expect(r.stdout).toMatch(/procs:\d+\n/);
  });

  it("keeps Node working (the agent's runtime): worker threads, spawn, files without io_uring, loopback TCP", () => {
    const js = String.raw`
      const { Worker } = require("node:worker_threads");
      const net = require("node:net");
      const fs = require("node:fs");
      const cp = require("node:child_process");
      (async () => {
        const worker = await new Promise((ok, fail) => {
          const w = new Worker("require('node:worker_threads').parentPort.postMessage(6 * 7)", { eval: true });
          w.once("message", ok);
          w.once("error", fail);
        });
        const threads = Number(/Threads:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
        const spawned = cp.execFileSync("/bin/echo", ["spawned"]).toString().trim();
        const file = (await fs.promises.readFile("/etc/os-release", "utf8")).includes("Debian");
        const server = net.createServer((s) => s.end("pong"));
        await new Promise((r) => server.listen(0, "127.0.0.1", r));
        const reply = await new Promise((ok, fail) => {
          let d = "";
          net.connect(server.address().port, "127.0.0.1").on("data", (c) => (d += c)).on("end", () => ok(d)).on("error", fail);
        });
        server.close();
        console.log(JSON.stringify({ worker, threads, spawned, file, reply }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    // The runtime mounted at /opt/pyro starts through its own dynamic loader, as the agent does.
    const r = run(["bash", "-c", 'exec /opt/pyro/lib/ld-linux-* --library-path /opt/pyro/lib /opt/pyro/bin/node -e "$1"', "node", js]);
    expect(r.exit_code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ worker: 42, spawned: "spawned", file: true, reply: "pong" });
    expect(out.threads).toBeGreaterThan(1);
  });

  it("is reported by pyro doctor, in force in a test sandbox", () => {
    const r = pyro(["doctor", "--json"], m.env);
    const check = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === "seccomp");
    expect(check, r.stdout).toMatchObject({ name: "seccomp", status: "ok" });
    expect(check.detail).toContain(`pyro-default/${ARCH}`);
    expect(check.detail).toContain("in force");
  });
});

/**
 * A 161-byte static x86_64 ELF that writes "int80 ran\n" with the i386 `write` through
 * `int 0x80`, then exits 0 through the native `exit`. Under the filter the first call kills it.
 */
function int80Elf(): Buffer {
  const base = 0x400000;
  const codeOffset = 64 + 56; // ELF header, one program header
  const msg = Buffer.from("int80 ran\n");
  const codeLength = 31;
  const msgAddress = base + codeOffset + codeLength;
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const code = Buffer.concat([
    Buffer.from([0xb8, 4, 0, 0, 0]), // mov eax, 4 (i386 write)
    Buffer.from([0xbb, 1, 0, 0, 0]), // mov ebx, 1
    Buffer.from([0xb9]), u32(msgAddress), // mov ecx, msg
    Buffer.from([0xba, msg.length, 0, 0, 0]), // mov edx, len
    Buffer.from([0xcd, 0x80]), // int 0x80
    Buffer.from([0xb8, 60, 0, 0, 0]), // mov eax, 60 (exit)
    Buffer.from([0x31, 0xff]), // xor edi, edi
    Buffer.from([0x0f, 0x05]), // syscall
  ]);
  const size = codeOffset + code.length + msg.length;
  const header = Buffer.alloc(64);
  header.write("\x7fELF", 0, "latin1");
  header.set([2, 1, 1], 4); // 64-bit, little-endian, version 1
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(0x3e, 18); // EM_X86_64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(BigInt(base + codeOffset), 24); // entry
  header.writeBigUInt64LE(64n, 32); // program headers at
  header.writeUInt16LE(64, 52); // header size
  header.writeUInt16LE(56, 54); // program header size
  header.writeUInt16LE(1, 56); // one program header
  const load = Buffer.alloc(56);
  load.writeUInt32LE(1, 0); // PT_LOAD
  load.writeUInt32LE(5, 4); // R+X
  load.writeBigUInt64LE(BigInt(base), 16); // vaddr
  load.writeBigUInt64LE(BigInt(base), 24); // paddr
  load.writeBigUInt64LE(BigInt(size), 32); // file size
  load.writeBigUInt64LE(BigInt(size), 40); // memory size
  load.writeBigUInt64LE(0x1000n, 48); // alignment
  return Buffer.concat([header, load, code, msg]);
}
