import { describe, expect, it } from "vitest";
import { PyroError } from "../../sdk/src/errors.js";
import { OPERATIONS } from "../../sdk/src/operations.js";
import type { ParamSpec } from "../../sdk/src/operations/spec.js";
import { VERSION } from "../../sdk/src/version.js";
import { buildCli, commandPath, globalFlags } from "./cli.js";
import { flagName } from "./options.js";
import { Capture, fakeClient, okRun, testIo, testLimits } from "./testing.js";

async function cli(argv: string[], opts: { client?: ReturnType<typeof fakeClient>; env?: Record<string, string>; ttyStderr?: boolean } = {}) {
  const fake = opts.client ?? fakeClient();
  const io = testIo(fake.client, { env: opts.env, ttyStderr: opts.ttyStderr });
  const code = await buildCli(argv, io).run();
  return { code, stdout: io.stdout.text, stderr: io.stderr.text, calls: fake.calls, fake };
}

function runOpts(calls: { method: string; args: unknown[] }[]) {
  const call = calls.find((c) => c.method === "run");
  if (!call) throw new Error("run was not called");
  return { environment: call.args[0], command: call.args[1], opts: call.args[2] as Record<string, unknown> };
}

describe("help comes from the operations table", () => {
  it("`run --help` shows every vm_run argument with its description", async () => {
    const { code, stdout } = await cli(["run", "--help"]);
    expect(code).toBe(0);
    const flat = stdout.replace(/\s+/g, " ");
    for (const p of OPERATIONS.vm_run.params as readonly ParamSpec[]) {
      if (p.cli === "positional" || p.cli === "argv") expect(stdout).toMatch(new RegExp(`\\b${p.name}\\b`));
      else expect(stdout).toContain(`--${flagName(p.name)}`);
      // Descriptions are wrapped to the terminal; compare with whitespace collapsed.
      expect(flat).toContain(p.description.replace(/\s+/g, " ").slice(0, 30));
    }
    expect(stdout).toContain("--backend");
    expect(stdout).toContain("--json");
  });

  it("has help for every command", async () => {
    for (const argv of [["--help"], ["env", "--help"], ["env", "list", "--help"], ["env", "pull", "--help"], ["env", "inspect", "--help"], ["env", "prune", "--help"], ["doctor", "--help"], ["mcp", "serve", "--help"], ["manager", "serve", "--help"]]) {
      const { code, stdout } = await cli(argv);
      expect(code, argv.join(" ")).toBe(0);
      expect(stdout.length, argv.join(" ")).toBeGreaterThan(50);
      if (argv.length > 2 || (argv.length === 2 && argv[0] === "doctor")) expect(stdout, argv.join(" ")).toContain("Examples:");
    }
  });

  it("prints the version without a manager", async () => {
    const { code, stdout, calls } = await cli(["--version"]);
    expect(code).toBe(0);
    expect(stdout).toBe(`pyro ${VERSION}\n`);
    expect(calls).toEqual([]);
  });
});

describe("pyro run", () => {
  it("keeps argument boundaries after --, flags there included", async () => {
    const { code, calls } = await cli(["run", "debian:12", "--", "sh", "-c", "echo a  b", "--json", "007"]);
    expect(code).toBe(0);
    const r = runOpts(calls);
    expect(r.environment).toBe("debian:12");
    expect(r.command).toEqual(["sh", "-c", "echo a  b", "--json", "007"]);
  });

  it("passes the table's defaults and the flags given", async () => {
    let r = runOpts((await cli(["run", "debian:12", "--", "true"])).calls);
    expect(r.opts).toMatchObject({ vcpuCount: 1, memMib: 1024, timeoutSeconds: 30, ttlSeconds: 600, network: false, allowHostCompat: false, backend: undefined });
    r = runOpts(
      (await cli(["run", "debian:12", "--vcpu-count", "2", "--mem-mib=512", "--timeout-seconds", "5", "--ttl-seconds", "60", "--network", "--allow-host-compat", "--backend", "host", "--", "true"])).calls,
    );
    expect(r.opts).toMatchObject({ vcpuCount: 2, memMib: 512, timeoutSeconds: 5, ttlSeconds: 60, network: true, allowHostCompat: true, backend: "host" });
  });

  it("takes the default backend from PYRO_BACKEND", async () => {
    const r = runOpts((await cli(["run", "debian:12", "--", "true"], { env: { PYRO_BACKEND: "namespace" } })).calls);
    expect(r.opts.backend).toBe("namespace");
  });

  it("streams output as raw bytes and exits with the command's status", async () => {
    const fake = fakeClient(async (_e, _c, o) => {
      o.onStarted?.({ sandboxId: "sb", executionMode: "namespace", environment: "debian:12", pid: 1, seccomp: "pyro-default/x86_64", limits: testLimits });
      o.onOutput?.("stdout", Buffer.from("out\n"));
      o.onOutput?.("stderr", Buffer.from("err\n"));
      return { ...okRun, exitCode: 3, stdout: "out\n", stderr: "err\n" };
    });
    const { code, stdout, stderr } = await cli(["run", "debian:12", "--", "x"], { client: fake });
    expect(code).toBe(3);
    expect(stdout).toBe("out\n");
    expect(stderr).toBe("err\n");
    expect(fake.isClosed()).toBe(true);
  });

  it("maps a signal death to 128 + its number", async () => {
    const fake = fakeClient(async () => ({ ...okRun, exitCode: -1, signal: "SIGKILL" }));
    expect((await cli(["run", "debian:12", "--", "x"], { client: fake })).code).toBe(137);
  });

  it("prints only the snake_case result with --json, and still exits with the command's status", async () => {
    const fake = fakeClient(async (_e, _c, o) => {
      o.onOutput?.("stdout", Buffer.from("live"));
      return { ...okRun, exitCode: 2, stdout: "live" };
    });
    const { code, stdout, stderr } = await cli(["run", "debian:12", "--json", "--", "x"], { client: fake });
    expect(code).toBe(2);
    expect(stderr).toBe("");
    const json = JSON.parse(stdout);
    expect(json).toMatchObject({ environment: "debian:12", execution_mode: "namespace", exit_code: 2, stdout: "live", duration_ms: 10, total_ms: 50, stdout_truncated: false });
  });

  it("shows pull progress lines on stderr, plus a status line on a terminal", async () => {
    const fake = fakeClient(async (_e, _c, o) => {
      o.onProgress?.({ environment: "debian:12", phase: "download", message: "fetching", elapsedMs: 1200 });
      o.onStarted?.({ sandboxId: "sb", executionMode: "namespace", environment: "debian:12", pid: 1, seccomp: "pyro-default/x86_64", limits: testLimits });
      return okRun;
    });
    let { stderr } = await cli(["run", "debian:12", "--", "x"], { client: fake });
    expect(stderr).toBe('[pull] phase=download environment=debian:12 elapsed_ms=1200 message="fetching"\n');
    ({ stderr } = await cli(["run", "debian:12", "--", "x"], { client: fake, ttyStderr: true }));
    expect(stderr).toContain('[pull] phase=download environment=debian:12 elapsed_ms=1200 message="fetching"\n');
    expect(stderr).toMatch(/\r\x1b\[2Kpulling debian:12: download \d+\.\ds - fetching/);
    expect(stderr.endsWith("\r\x1b[2K")).toBe(true); // the status line is gone before output starts
  });

  it("waits for a full stdout to drain before taking more output", async () => {
    const waits: unknown[] = [];
    const fake = fakeClient(async (_e, _c, o) => {
      for (let i = 0; i < 3; i++) waits.push(o.onOutput?.("stdout", Buffer.alloc(64 << 10, 97)));
      return okRun;
    });
    const io = testIo(fake.client);
    io.stdout = Object.assign(new Capture(), { write: (() => false) as Capture["write"] }); // always full
    const done = buildCli(["run", "debian:12", "--", "x"], io).run();
    await done;
    expect(waits).toHaveLength(3);
    for (const w of waits) expect(w).toBeInstanceOf(Promise);
  });

  it("reports a timeout as one line with exit 124", async () => {
    const fake = fakeClient(async () => {
      throw new PyroError("timeout", "the command did not finish within 1s", { data: { stdout: "part" } });
    });
    const { code, stdout, stderr } = await cli(["run", "debian:12", "--timeout-seconds", "1", "--", "sleep", "9"], { client: fake });
    expect(code).toBe(124);
    expect(stdout).toBe("");
    expect(stderr).toBe("error: timeout: the command did not finish within 1s (next: raise --timeout-seconds, or make the command finish sooner)\n");
  });

  it("reports errors as JSON on stdout with --json", async () => {
    const fake = fakeClient(async () => {
      throw new PyroError("environment_not_found", 'unknown environment "x"', { hint: "run `pyro env list`" });
    });
    const { code, stdout, stderr } = await cli(["run", "x", "--json", "--", "true"], { client: fake });
    expect(code).toBe(125);
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toEqual({ error: { code: "environment_not_found", message: 'unknown environment "x"', hint: "run `pyro env list`" } });
  });

  it("treats anything else as a bug: internal, exit 125, stack only with --debug", async () => {
    const fake = fakeClient(async () => {
      throw new TypeError("oops");
    });
    let r = await cli(["run", "debian:12", "--", "true"], { client: fake });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^error: internal: oops \(next: .*\)\n$/);
    r = await cli(["run", "debian:12", "--debug", "--", "true"], { client: fake });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("TypeError: oops\n    at ");
  });
});

describe("usage errors are invalid_argument, exit 125, one line", () => {
  const cases: [string[], RegExp][] = [
    [["run", "debian:12", "--bogus", "--", "true"], /Unknown argument: bogus/],
    [["run", "debian:12", "--vcpu-count", "abc", "--", "true"], /--vcpu-count must be a whole number/],
    [["run", "debian:12", "--vcpu-count", "1.5", "--", "true"], /--vcpu-count must be a whole number, got 1.5/],
    [["run", "debian:12", "--timeout-seconds", "0", "--", "true"], /--timeout-seconds must be at least 1/],
    [["run", "debian:12", "--mem-mib", "--", "true"], /mem-mib/],
    [["run", "debian:12", "--backend", "docker", "--", "true"], /Invalid values: Argument: backend, Given: "docker", Choices: "namespace", "host", "firecracker"/],
    [["run"], /Not enough non-option arguments/],
    [["run", "debian:12"], /no command given/],
    [["env"], /name a subcommand \(list, pull, inspect, prune\)/],
    [["workspace", "file"], /pyro workspace file: name a subcommand \(list, read, write\)/],
    [["env", "list", "extra"], /Unknown argument: extra/],
    [[], /name a command/],
    [["frobnicate"], /Unknown argument: frobnicate/],
    [["mcp", "serve", "--profile", "everything"], /Invalid values/],
  ];
  for (const [argv, message] of cases) {
    it(`pyro ${argv.join(" ")}`, async () => {
      const { code, stdout, stderr, calls } = await cli(argv);
      expect(code).toBe(125);
      expect(stdout).toBe("");
      expect(stderr.split("\n")).toHaveLength(2);
      expect(stderr).toMatch(/^error: invalid_argument: /);
      expect(stderr).toMatch(message);
      expect(calls.filter((c) => c.method === "run")).toEqual([]);
    });
  }

  it("echoes at most a few hundred characters of a huge argument", async () => {
    const { code, stderr } = await cli(["run", "debian:12", `--${"x".repeat(100_000)}`, "--", "true"]);
    expect(code).toBe(125);
    expect(stderr).toMatch(/^error: invalid_argument: Unknown argument: x+… \(\d+ more characters\)/);
    expect(stderr.length).toBeLessThan(1000);
  });

  it("points at the command's own help", async () => {
    expect((await cli(["env", "pull"])).stderr).toContain("(next: run `pyro env pull --help` to see the arguments)");
  });

  it("says so in JSON with --json", async () => {
    const { code, stdout } = await cli(["run", "debian:12", "--json", "--vcpu-count", "x", "--", "true"]);
    expect(code).toBe(125);
    expect(JSON.parse(stdout).error.code).toBe("invalid_argument");
  });

});

describe("env and doctor", () => {
  it("lists environments as a table or JSON", async () => {
    let r = await cli(["env", "list"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^NAME\s+INSTALLED\s+VERSION\s+DESCRIPTION$/);
    expect(r.stdout).toMatch(/debian:12\s+yes\s+1\s+Debian 12 with git/);
    expect(r.stdout).toMatch(/debian:12-base\s+no\s+1\s+Minimal/);
    r = await cli(["env", "list", "--json"]);
    expect(JSON.parse(r.stdout).environments[1]).toEqual({ name: "debian:12-base", version: "1", description: "Minimal", installed: false, packages: [] });
  });

  it("pulls with progress on stderr", async () => {
    const r = await cli(["env", "pull", "debian:12", "--force"]);
    expect(r.code).toBe(0);
    expect(r.calls[0]).toMatchObject({ method: "environments.pull", args: ["debian:12", { force: true }] });
    expect(r.stderr).toContain('[pull] phase=download environment=debian:12 elapsed_ms=5 message="fetching 3 packages"\n');
    expect(r.stdout).toBe("installed debian:12 (version 1, 2.0 MiB) at /c/x\n");
    const j = await cli(["env", "pull", "debian:12", "--json"]);
    expect(JSON.parse(j.stdout).manifest.size_bytes).toBe(2 << 20);
  });

  it("inspects and prunes", async () => {
    const i = await cli(["env", "inspect", "debian:12"]);
    expect(i.stdout).toMatch(/^name:\s+debian:12$/m);
    expect(i.stdout).toMatch(/^packages:\s+bash git$/m);
    const p = await cli(["env", "prune", "--all"]);
    expect(p.calls[0]).toMatchObject({ method: "environments.prune", args: [{ all: true }] });
    expect(p.stdout).toBe("removed /c/old\nkept /c/cur: in use by 1 running sandbox: sb-0123456789 (pid 42)\nfreed 1.5 KiB (1 path)\n");
    expect(JSON.parse((await cli(["env", "prune", "--json"])).stdout)).toEqual({
      removed_paths: ["/c/old"],
      freed_bytes: 1536,
      kept: [{ path: "/c/cur", reason: "in use by 1 running sandbox: sb-0123456789 (pid 42)" }],
    });
  });

  it("doctor shows each check with its fix and the default backend", async () => {
    const r = await cli(["doctor"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+bubblewrap\s+bubblewrap 0.8.0$/m);
    expect(r.stdout).toMatch(/^fail\s+kvm\s+\/dev\/kvm is missing$/m);
    expect(r.stdout).toMatch(/^\s+fix: enable KVM$/m);
    expect(r.stdout).toContain("default backend: namespace\n");
    const j = JSON.parse((await cli(["doctor", "--json"])).stdout);
    expect(j).toMatchObject({ default_backend: "namespace", available_backends: ["namespace", "host"], checks: [{ name: "bubblewrap", status: "ok" }, { name: "kvm", status: "fail", hint: "enable KVM" }] });
  });
});

describe("helpers", () => {
  it("finds the command path and global flags without the parser", () => {
    expect(commandPath(["--json", "env", "pull", "x"])).toEqual(["env", "pull"]);
    expect(commandPath(["run", "debian:12"])).toEqual(["run"]);
    expect(commandPath(["nope"])).toEqual([]);
    expect(globalFlags(["run", "--json", "x", "--", "--debug"])).toEqual({ json: true, debug: false });
    expect(globalFlags(["--json", "--no-json"])).toEqual({ json: false, debug: false });
  });
});
