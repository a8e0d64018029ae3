/**
 * The workspace loop on every surface against a real manager and real sandboxes: create
 * (seeded) → read → patch → exec → diff → export → reset → delete, through the SDK, the CLI
 * and the MCP server (`pyro mcp serve`, default profile), with the same error codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Pyro } from "../sdk/src/index.js";
import { PYRO, pyro, startManager, testDir, type TestManager } from "./harness.js";

let m: TestManager;
let dir: string;
let seed: string;

describe("workspaces on every surface", () => {
  beforeAll(async () => {
    m = await startManager();
    dir = testDir("pyro-e2e-ws-");
    seed = join(dir, "seed");
    mkdirSync(join(seed, "src"), { recursive: true });
    writeFileSync(join(seed, "README.md"), "# demo\n");
    writeFileSync(join(seed, "src", "app.sh"), "echo one\n");
  });
  afterAll(async () => {
    await m?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("SDK: the whole loop", async () => {
    const sdk = new Pyro({ socketPath: m.socketPath, autoStart: false });
    const ws = await sdk.createWorkspace("debian:12", { seedPath: seed, name: "sdk-loop", labels: { surface: "sdk" } });
    try {
      expect(ws).toMatchObject({ state: "started", environment: "debian:12", name: "sdk-loop", labels: { surface: "sdk" } });
      expect(await sdk.readWorkspaceFile(ws.workspaceId, "src/app.sh")).toMatchObject({ content: "echo one\n", truncated: false });
      const patch = "--- a/src/app.sh\n+++ b/src/app.sh\n@@ -1 +1 @@\n-echo one\n+echo two\n";
      expect(await sdk.applyWorkspacePatch(ws.workspaceId, patch)).toMatchObject({ changed: true, filesChanged: 1 });
      await expect(sdk.applyWorkspacePatch(ws.workspaceId, patch)).rejects.toMatchObject({ code: "patch_conflict", data: { files: [expect.objectContaining({ path: "src/app.sh", status: "conflict" })] } });
      const run = await sdk.execWorkspace(ws.workspaceId, "sh src/app.sh && pwd");
      expect(run).toMatchObject({ exitCode: 0, stdout: "two\n/workspace\n", timedOut: false, sequence: 1 });
      const diff = await sdk.diffWorkspace(ws.workspaceId);
      expect(diff.changed).toBe(true);
      expect(diff.patch).toContain("+echo two");
      const out = join(dir, "sdk-export");
      expect(await sdk.exportWorkspace(ws.workspaceId, "src", out)).toMatchObject({ type: "directory", files: 1 });
      expect(readFileSync(join(out, "app.sh"), "utf8")).toBe("echo two\n");
      await sdk.resetWorkspace(ws.workspaceId);
      expect((await sdk.diffWorkspace(ws.workspaceId)).changed).toBe(false);
      await expect(sdk.readWorkspaceFile(ws.workspaceId, "../etc/passwd")).rejects.toMatchObject({ code: "path_outside_workspace" });
    } finally {
      await sdk.deleteWorkspace(ws.workspaceId);
      sdk.close();
    }
    await expect(new Pyro({ socketPath: m.socketPath, autoStart: false }).statusWorkspace(ws.workspaceId)).rejects.toMatchObject({ code: "workspace_not_found" });
  });

  it("CLI: the whole loop, with the command's exit status", () => {
    const created = pyro(["workspace", "create", "debian:12", "--seed-path", seed, "--id-only"], m.env);
    expect(created.status, created.stderr).toBe(0);
    const id = created.stdout.trim();
    try {
      expect(pyro(["workspace", "file", "read", id, "README.md"], m.env).stdout).toBe("# demo\n");
      const patchFile = join(dir, "cli.diff");
      writeFileSync(patchFile, "--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # demo\n+more\n");
      expect(pyro(["workspace", "patch", "apply", id, "--patch-file", patchFile], m.env).status).toBe(0);
      expect(pyro(["workspace", "exec", id, "--", "sh", "-c", "exit 3"], m.env).status).toBe(3);
      const ran = pyro(["workspace", "exec", id, "--", "cat", "README.md"], m.env);
      expect([ran.status, ran.stdout]).toEqual([0, "# demo\nmore\n"]);
      expect(JSON.parse(pyro(["workspace", "diff", id, "--json"], m.env).stdout)).toMatchObject({ changed: true });
      const out = join(dir, "cli-export.md");
      expect(pyro(["workspace", "export", id, "README.md", "--output", out], m.env).status).toBe(0);
      expect(readFileSync(out, "utf8")).toBe("# demo\nmore\n");
      expect(pyro(["workspace", "reset", id], m.env).status).toBe(0);
      expect(pyro(["workspace", "file", "read", id, "README.md"], m.env).stdout).toBe("# demo\n");
      const missing = pyro(["workspace", "status", "ws-nope"], m.env);
      expect(missing.status).toBe(125);
      expect(missing.stderr).toMatch(/^error: workspace_not_found: /);
    } finally {
      expect(pyro(["workspace", "delete", id], m.env).status).toBe(0);
    }
  });

  it("MCP: the default profile is workspace-core and runs the loop", async () => {
    const client = new Client({ name: "pyro-e2e", version: "0.0.0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [PYRO, "mcp", "serve"], env: m.env as Record<string, string>, stderr: "pipe" }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("workspace_patch_apply");
      expect(tools.map((t) => t.name)).not.toContain("snapshot_create");
      const created = await client.callTool({ name: "workspace_create", arguments: { environment: "debian:12", seed_path: seed } });
      expect(created.isError).toBeFalsy();
      const id = (created.structuredContent as { workspace_id: string }).workspace_id;
      try {
        const w = await client.callTool({ name: "workspace_file_write", arguments: { workspace_id: id, path: "notes/todo.txt", text: "ship it\n" } });
        expect(w.structuredContent).toMatchObject({ bytes_written: 8 });
        const r = await client.callTool({ name: "workspace_exec", arguments: { workspace_id: id, command: "cat notes/todo.txt; exit 4" } });
        expect(r.structuredContent).toMatchObject({ exit_code: 4, stdout: "ship it\n" });
        const d = await client.callTool({ name: "workspace_diff", arguments: { workspace_id: id } });
        expect(JSON.stringify(d.structuredContent)).toContain("notes/todo.txt");
        const out = join(dir, "mcp-export");
        expect((await client.callTool({ name: "workspace_export", arguments: { workspace_id: id, path: "notes", output_path: out } })).isError).toBeFalsy();
        expect(existsSync(join(out, "todo.txt"))).toBe(true);
        const bad = await client.callTool({ name: "workspace_file_read", arguments: { workspace_id: id, path: "/etc/passwd" } });
        expect(bad.isError).toBe(true);
        expect(JSON.stringify(bad.content)).toContain("path_outside_workspace");
      } finally {
        await client.callTool({ name: "workspace_delete", arguments: { workspace_id: id } });
      }
    } finally {
      await client.close();
    }
  });
});
