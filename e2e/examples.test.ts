/**
 * The examples shipped beside the surfaces work as the README says: the SDK script
 * (sdk/examples/repro-fix.ts), the CLI script (cli/examples/repro-fix.sh) and the README's
 * loop commands run the repro-fix loop against a real manager and leave a fixed project
 * behind and no workspace; the MCP client configurations (Claude Code's JSON, Codex's TOML)
 * parse, and the server they name starts and offers the workspace tools.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { parse as parseToml } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managerLog, PYRO, pyro, ROOT, startManager, testDir, type TestManager } from "./harness.js";

let m: TestManager;
let dir: string;
/** The test manager's environment with `pyro` (the built CLI) first on PATH, as `npm link` would give. */
let env: NodeJS.ProcessEnv;

/** Seed test output: the failing case before the fix, then all three passing. */
const FAILING = "FAIL  'Hello Big World' -> 'hello-big world' (expected 'hello-big-world')";
const PASSING = "ok    'Hello Big World' -> 'hello-big-world'";

/** The exported project is fixed: its own tests pass on the host, and the workspace is gone. */
function expectFixedAndClean(out: string): void {
  expect(readFileSync(join(out, "slugify.sh"), "utf8")).toContain("sed 's/ /-/g'");
  const tests = spawnSync("sh", ["test.sh"], { cwd: out, encoding: "utf8", timeout: 10_000 });
  expect([tests.status, tests.stdout]).toEqual([0, expect.stringContaining(PASSING)]);
  expect(JSON.parse(pyro(["workspace", "list", "--json"], env).stdout)).toEqual({ workspaces: [] });
}

function expectLoopOutput(stdout: string): void {
  const failed = stdout.indexOf(FAILING);
  const passed = stdout.indexOf(PASSING);
  expect(failed, stdout).toBeGreaterThanOrEqual(0);
  expect(passed, stdout).toBeGreaterThan(failed);
  expect(stdout).toContain("+printf '%s\\n' \"$*\" | tr 'A-Z' 'a-z' | sed 's/ /-/g'");
  expect(stdout).toMatch(/deleted (workspace )?ws-[0-9a-f]+/i);
}

describe("the examples", () => {
  beforeAll(async () => {
    m = await startManager();
    dir = testDir("pyro-e2e-examples-");
    const bin = join(dir, "bin");
    mkdirSync(bin);
    symlinkSync(PYRO, join(bin, "pyro"));
    env = { ...m.env, PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  });
  afterAll(async () => {
    await m?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("SDK: sdk/examples/repro-fix.ts fixes the seed's bug", () => {
    const out = join(dir, "sdk-out");
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "vite-node"), ["sdk/examples/repro-fix.ts", out], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}\n${managerLog(m)}`).toBe(0);
    expectLoopOutput(r.stdout);
    expect(r.stdout).toContain("applying it twice: patch_conflict");
    expect(r.stdout).toContain("after reset, changed: false");
    expectFixedAndClean(out);
  });

  it("CLI: cli/examples/repro-fix.sh fixes the seed's bug", () => {
    const out = join(dir, "cli-out");
    const r = spawnSync(join(ROOT, "cli", "examples", "repro-fix.sh"), [out], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}\n${managerLog(m)}`).toBe(0);
    expectLoopOutput(r.stdout);
    expect(r.stdout).toContain("No changes against the baseline.");
    expectFixedAndClean(out);
  });

  it("README: the repro-fix loop runs as shown, with the exit statuses its comments give", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /### The repro-fix loop[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const out = join(dir, "readme-out");
    for (const line of block!.trim().split("\n")) {
      const expected = Number(/# exit status (\d+)/.exec(line)?.[1] ?? 0);
      // The export goes to the test's directory, not the repository's.
      const r = spawnSync("sh", ["-c", line.replace("./slugify-fixed", out)], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
      expect(r.status, `${line}\n${r.stdout}\n${r.stderr}`).toBe(expected);
    }
    expectFixedAndClean(out);
  });

  const configs: [string, () => { command: unknown; args: unknown }][] = [
    ["Claude Code (.mcp.json)", () => JSON.parse(readFileSync(join(ROOT, "mcp", "examples", "claude-code.mcp.json"), "utf8")).mcpServers.pyro],
    ["Codex (config.toml)", () => (parseToml(readFileSync(join(ROOT, "mcp", "examples", "codex-config.toml"), "utf8")) as { mcp_servers: { pyro: { command: unknown; args: unknown } } }).mcp_servers.pyro],
  ];
  for (const [client, load] of configs) {
    it(`MCP: the ${client} configuration starts pyro's MCP server`, async () => {
      const server = load();
      expect(server).toMatchObject({ command: "pyro", args: ["mcp", "serve"] });
      // `pyro` is the package's command, and the built CLI it names exists.
      expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).bin).toEqual({ pyro: "dist/pyro.mjs" });
      const mcp = new Client({ name: "pyro-e2e-examples", version: "0.0.0" });
      await mcp.connect(new StdioClientTransport({ command: server.command as string, args: server.args as string[], env: env as Record<string, string>, stderr: "pipe" }));
      try {
        const { tools } = await mcp.listTools();
        expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["workspace_create", "workspace_exec", "workspace_patch_apply", "workspace_reset", "workspace_delete"]));
      } finally {
        await mcp.close();
      }
    });
  }
});
