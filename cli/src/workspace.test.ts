/** `pyro workspace …` against an in-memory WorkspaceService, through the real SDK client. */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPERATIONS } from "../../sdk/src/operations.js";
import { flagOf, type ParamSpec } from "../../sdk/src/operations/spec.js";
import { FakeWorkspaces } from "../../sdk/src/fake-workspace-service.js";
import { buildCli, commandPath } from "./cli.js";
import { fakeClient, testIo } from "./testing.js";

const root = mkdtempSync(join(tmpdir(), "pyro-cli-ws-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(argv: string[], state = new FakeWorkspaces()) {
  const fake = fakeClient(undefined, state);
  const io = testIo(fake.client);
  const code = await buildCli(argv, io).run();
  return { code, stdout: io.stdout.text, stderr: io.stderr.text, state };
}

/** A fake with one started workspace named app, holding `files`. */
function withApp(files: Record<string, string> = {}): FakeWorkspaces {
  const state = new FakeWorkspaces();
  const ws = state.add("debian:12", "app");
  for (const [path, text] of Object.entries(files)) ws.files.set(path, { text, mode: 0o644 });
  ws.baseline = new Map(ws.files);
  return state;
}

const COMMANDS = [
  ["workspace", "create"], ["workspace", "list"], ["workspace", "status"], ["workspace", "update"], ["workspace", "logs"], ["workspace", "exec"],
  ["workspace", "file", "list"], ["workspace", "file", "read"], ["workspace", "file", "write"], ["workspace", "patch", "apply"], ["workspace", "sync", "push"],
  ["workspace", "diff"], ["workspace", "export"], ["workspace", "snapshot", "create"], ["workspace", "snapshot", "list"], ["workspace", "snapshot", "delete"],
  ["workspace", "reset"], ["workspace", "stop"], ["workspace", "start"], ["workspace", "delete"],
];

describe("help", () => {
  it("has help with an example for every workspace command, and every flag of its table entry", async () => {
    const entries: Record<string, keyof typeof OPERATIONS> = {
      "workspace create": "workspace_create", "workspace exec": "workspace_exec", "workspace file write": "workspace_file_write", "workspace patch apply": "workspace_patch_apply",
      "workspace export": "workspace_export", "workspace update": "workspace_update", "workspace reset": "workspace_reset", "workspace file read": "workspace_file_read",
    };
    for (const argv of COMMANDS) {
      const { code, stdout } = await cli([...argv, "--help"]);
      expect(code, argv.join(" ")).toBe(0);
      expect(stdout, argv.join(" ")).toContain("Examples:");
      expect(stdout, argv.join(" ")).toContain(`pyro ${argv.join(" ")}`);
      const op = entries[argv.join(" ")];
      if (!op) continue;
      for (const p of OPERATIONS[op].params as readonly ParamSpec[]) {
        if (p.cli === "none") expect(stdout).not.toContain(`--${flagOf(p)}`);
        else if (p.cli === "positional" || p.cli === "argv") expect(stdout).toContain(p.name);
        else expect(stdout, `${op}.${p.name}`).toContain(`--${flagOf(p)}`);
      }
    }
  });

  it("finds nested command paths for hints", () => {
    expect(commandPath(["workspace", "file", "read", "app", "x"])).toEqual(["workspace", "file", "read"]);
    expect(commandPath(["workspace", "snapshot"])).toEqual(["workspace", "snapshot"]);
  });
});

describe("lifecycle", () => {
  it("creates with the table's flags, a seed, repeatable labels, and prints a summary, the id, or JSON", async () => {
    const seed = join(root, "seed");
    mkdirSync(seed, { recursive: true });
    writeFileSync(join(seed, "README"), "hi\n");
    let r = await cli(["workspace", "create", "debian:12", "--seed-path", seed, "--name", "app", "--label", "a=1", "--label", "b=x=y", "--ttl-seconds", "60"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Workspace ws-0000000001 \(app\) is started: debian:12 on the namespace backend/);
    const ws = r.state.find("app");
    expect(ws.labels).toEqual({ a: "1", b: "x=y" });
    expect(ws.files.get("README")?.text).toBe("hi\n");
    r = await cli(["workspace", "create", "debian:12", "--id-only"]);
    expect(r.stdout).toBe("ws-0000000001\n");
    r = await cli(["workspace", "create", "debian:12", "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ workspace_id: "ws-0000000001", state: "started", limits: { mem_mib: { value: 1024 } } });
  });

  it("lists, shows, updates, stops, starts and deletes", async () => {
    const state = withApp();
    expect((await cli(["workspace", "list"], state)).stdout).toMatch(/^ID\s+NAME\s+STATE\s+ENVIRONMENT\s+LAST ACTIVITY\nws-0000000001\s+app\s+started\s+debian:12/);
    expect(JSON.parse((await cli(["workspace", "list", "--json"], state)).stdout).workspaces).toHaveLength(1);
    expect((await cli(["workspace", "status", "app"], state)).stdout).toContain("is started");
    const u = await cli(["workspace", "update", "app", "--name", "api", "--label", "k=v"], state);
    expect(u.code).toBe(0);
    expect(state.find("api").labels).toEqual({ k: "v" });
    await cli(["workspace", "update", "api", "--clear-label", "k"], state);
    expect(state.find("api").labels).toEqual({});
    expect((await cli(["workspace", "stop", "api"], state)).stdout).toContain("is stopped");
    expect((await cli(["workspace", "start", "api"], state)).stdout).toContain("is started");
    expect((await cli(["workspace", "delete", "api"], state)).stdout).toBe("Deleted workspace ws-0000000001.\n");
    const gone = await cli(["workspace", "status", "api"], state);
    expect(gone.code).toBe(125);
    expect(gone.stderr).toBe('error: workspace_not_found: no workspace "api" (next: run `pyro workspace list` to see the workspaces)\n');
  });
});

describe("exec", () => {
  it("streams output and exits with the command's status; 124 on timeout", async () => {
    const state = withApp({ "a.txt": "content\n" });
    let r = await cli(["workspace", "exec", "app", "--", "cat", "a.txt"], state);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "content\n", ""]);
    r = await cli(["workspace", "exec", "app", "--", "exit", "3"], state);
    expect(r.code).toBe(3);
    r = await cli(["workspace", "exec", "app", "--timeout-seconds", "1", "--", "sleep", "9"], state);
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/timed out/);
    r = await cli(["workspace", "exec", "app", "--json", "--", "echo", "hi"], state);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ exit_code: 0, stdout: "hi\n", sequence: 4 });
    expect((await cli(["workspace", "logs", "app"], state)).stdout).toMatch(/^#1 .* exit 0 \(3 ms\): cat a.txt\n#2 .* exit 3 .*\n#3 .* exit timeout/);
  });

  it("refuses a missing command and a command pyro cannot find", async () => {
    const state = withApp();
    let r = await cli(["workspace", "exec", "app"], state);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^error: invalid_argument: command is empty/);
    r = await cli(["workspace", "exec", "app", "--", "nope"], state);
    expect(r.code).toBe(127);
  });
});

describe("files, patches, diff, export", () => {
  it("writes from --text or --text-file, lists, and reads raw", async () => {
    const state = withApp();
    expect((await cli(["workspace", "file", "write", "app", "src/a.txt", "--text", "one\ntwo\n"], state)).stdout).toBe("Wrote 8 bytes to src/a.txt.\n");
    const host = join(root, "host.txt");
    writeFileSync(host, "from the host\n");
    await cli(["workspace", "file", "write", "app", "b.txt", "--text-file", host], state);
    expect(state.find("app").files.get("b.txt")?.text).toBe("from the host\n");
    expect((await cli(["workspace", "file", "list", "app", "--recursive"], state)).stdout).toMatch(/file\s+14\s+b.txt\ndirectory\s+src\nfile\s+8\s+src\/a.txt/);
    const read = await cli(["workspace", "file", "read", "app", "src/a.txt"], state);
    expect([read.stdout, read.stderr]).toEqual(["one\ntwo\n", ""]);
    const cut = await cli(["workspace", "file", "read", "app", "src/a.txt", "--max-bytes", "3"], state);
    expect(cut.stdout).toBe("one");
    expect(cut.stderr).toMatch(/showed the first 3 of 8 bytes/);
    expect(JSON.parse((await cli(["workspace", "file", "read", "app", "src/a.txt", "--json"], state)).stdout)).toEqual({ path: "src/a.txt", content: "one\ntwo\n", size_bytes: 8, truncated: false });
  });

  it("refuses both --text and --text-file, neither, a missing file, and paths outside /workspace", async () => {
    const state = withApp();
    const both = await cli(["workspace", "file", "write", "app", "x", "--text", "a", "--text-file", "/etc/hostname"], state);
    expect(both.code).toBe(125);
    expect(both.stderr).toMatch(/mutually exclusive/);
    expect((await cli(["workspace", "file", "write", "app", "x"], state)).stderr).toMatch(/give --text TEXT or --text-file HOST_PATH/);
    expect((await cli(["workspace", "file", "write", "app", "x", "--text-file", join(root, "none")], state)).stderr).toMatch(/cannot read .*ENOENT/);
    const out = await cli(["workspace", "file", "read", "app", "../../etc/passwd"], state);
    expect(out.code).toBe(125);
    expect(out.stderr).toMatch(/^error: path_outside_workspace: /);
  });

  it("applies a patch, and explains a conflict before the error line", async () => {
    const state = withApp({ "a.txt": "one\ntwo\n" });
    const patchFile = join(root, "fix.diff");
    writeFileSync(patchFile, "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+three\n");
    const ok = await cli(["workspace", "patch", "apply", "app", "--patch-file", patchFile], state);
    expect(ok.stdout).toBe("Applied: 1 file changed.\nok  modify a.txt (+1 -1)\n");
    const bad = await cli(["workspace", "patch", "apply", "app", "--patch=--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+four\n"], state);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe(
      "conflict: a.txt hunk 1: hunk 1 does not match\n  expected: one\n  expected: two\nerror: patch_conflict: hunk 1 of a.txt does not match the file (next: read the file again and make the patch against its current content, or run `pyro workspace reset` to go back to the baseline)\n",
    );
    const json = await cli(["workspace", "patch", "apply", "app", "--json", "--patch=--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-zzz\n+y\n"], state);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "patch_conflict", data: { files: [{ path: "a.txt", status: "conflict", conflict_hunk: 1, expected_lines: ["zzz"] }] } });
  });

  it("diffs, pushes, and exports to a new host path only", async () => {
    const state = withApp({ "a.txt": "one\n" });
    expect((await cli(["workspace", "diff", "app"], state)).stdout).toBe("No changes against the baseline.\n");
    const src = join(root, "push-src");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "v.txt"), "vendored\n");
    expect((await cli(["workspace", "sync", "push", "app", src, "--dest", "vendor"], state)).stdout).toBe("Pushed 1 files and 0 directories (9 bytes) into vendor.\n");
    const d = await cli(["workspace", "diff", "app"], state);
    expect(d.stdout).toContain("added  vendor/v.txt");
    const out = join(root, "exported");
    const e = await cli(["workspace", "export", "app", "vendor", "--output", out], state);
    expect(e.code).toBe(0);
    expect(readFileSync(join(out, "v.txt"), "utf8")).toBe("vendored\n");
    const again = await cli(["workspace", "export", "app", "vendor", "--output", out], state);
    expect(again.code).toBe(125);
    expect(again.stderr).toMatch(/already exists; pyro never overwrites/);
    const hostile = await cli(["workspace", "export", "app", "hostile", "--output", join(root, "hostile-out")], state);
    expect(hostile.stderr).toMatch(/^error: unsafe_archive: /);
    expect(existsSync(join(root, "hostile-out"))).toBe(false);
    expect((await cli(["workspace", "export", "app", "vendor"], state)).stderr).toMatch(/Missing required argument: output/);
  });
});

describe("snapshots and reset", () => {
  it("creates, lists, resets to, and deletes snapshots; refuses bad names before calling", async () => {
    const state = withApp({ "a.txt": "one\n" });
    expect((await cli(["workspace", "snapshot", "create", "app", "s1"], state)).stdout).toBe("Snapshot s1 taken (10240 bytes).\n");
    await cli(["workspace", "file", "write", "app", "a.txt", "--text", "two\n"], state);
    expect((await cli(["workspace", "snapshot", "list", "app"], state)).stdout).toMatch(/^NAME\s+CREATED\s+SIZE\ns1\s+/);
    await cli(["workspace", "reset", "app"], state);
    expect(state.find("app").files.get("a.txt")?.text).toBe("one\n");
    await cli(["workspace", "file", "write", "app", "a.txt", "--text", "three\n"], state);
    await cli(["workspace", "snapshot", "create", "app", "s2"], state);
    await cli(["workspace", "reset", "app"], state);
    await cli(["workspace", "reset", "app", "--snapshot", "s2"], state);
    expect(state.find("app").files.get("a.txt")?.text).toBe("three\n");
    expect((await cli(["workspace", "snapshot", "delete", "app", "s1"], state)).stdout).toBe("Deleted snapshot s1.\n");
    const bad = await cli(["workspace", "snapshot", "create", "app", "../x"], state);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^error: invalid_argument: snapshot_name "..\/x" does not match/);
  });
});

describe("usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["workspace", "create", "debian:12", "--label", "novalue"], /--label takes KEY=VALUE, got "novalue"/],
    [["workspace", "create", "debian:12", "--vcpu-count", "65"], /--vcpu-count must be at most 64, got 65/],
    [["workspace", "create", "debian:12", "--name", "a", "--name", "b"], /--name was given more than once/],
    [["workspace", "exec", "app", "--timeout-seconds", "0", "--", "true"], /--timeout-seconds must be at least 1/],
    [["workspace", "file", "read", "app", "x", "--max-bytes", "2000000"], /--max-bytes must be at most 1048576/],
    [["workspace", "snapshot"], /pyro workspace snapshot: name a subcommand \(create, list, delete\)/],
    [["workspace", "status"], /Not enough non-option arguments/],
  ];
  for (const [argv, message] of cases) {
    it(`pyro ${argv.join(" ")}`, async () => {
      const state = withApp();
      const { code, stdout, stderr } = await cli(argv, state);
      expect(code).toBe(125);
      expect(stdout).toBe("");
      expect(stderr).toMatch(/^error: invalid_argument: /);
      expect(stderr).toMatch(message);
      expect(state.workspaces.size).toBe(1);
    });
  }
});
