/**
 * The house's floors: the contract (sdk/src/contract, errors, the operations table) at the
 * bottom, the SDK on it, CLI and MCP above, the manager (host/) beside them. The SDK and
 * MCP never import the manager (a client must not load or depend on the daemon's code), the
 * SDK never imports a surface, and only `pyro manager serve` brings the manager into the CLI.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..");

/** Every TypeScript file under `dir` (tests included: they must not reach around the layers either). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    // This file's own sample imports are text, not imports.
    if (entry.isFile() && entry.name.endsWith(".ts") && entry.name !== "layering.test.ts") out.push(relative(ROOT, join(entry.parentPath, entry.name)));
  }
  return out;
}

/** Repository-relative targets of a file's static imports, re-exports and dynamic imports. */
export function importsOf(file: string, text = readFileSync(join(ROOT, file), "utf8")): string[] {
  const specs = new Set<string>();
  const patterns = [/\bfrom\s+["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, /^\s*import\s+["']([^"']+)["']/gm];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.add(m[1]!);
  return [...specs].filter((s) => s.startsWith(".")).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

/** Specifiers of the imports a file evaluates when it loads: static, not type-only. */
function staticSpecifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^"';]*?\bfrom\s+)?["']([^"']+)["']/g)) {
    if (!m[1]) out.push(m[3]!);
  }
  return out;
}

/** Every file and package that loading `entry` evaluates (dynamic imports are not followed: they load later, on demand). */
export function startupGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticSpecifiers(readFileSync(join(ROOT, file), "utf8"))) {
      if (spec.startsWith(".")) todo.push(relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, ".ts"));
      else if (!spec.startsWith("node:")) packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
    }
  }
  return { files, packages };
}

function violations(files: string[], forbidden: (target: string, file: string) => boolean): string[] {
  return files.flatMap((f) => importsOf(f).filter((t) => forbidden(t, f)).map((t) => `${f} imports ${t}`));
}

const under = (dir: string) => (target: string) => target === dir || target.startsWith(dir + "/");

describe("layering", () => {
  it("finds imports of every form", () => {
    const text = 'import { a } from "../../host/src/x.js";\nexport { b } from "./y.js";\nconst m = await import("../z.js");\nimport "./side.js";';
    expect(importsOf("sdk/src/f.ts", text).sort()).toEqual(["host/src/x.js", "sdk/src/side.js", "sdk/src/y.js", "sdk/z.js"]);
  });

  it("the SDK imports neither the manager nor a surface", () => {
    expect(violations(sources("sdk"), (t) => under("host")(t) || under("cli")(t) || under("mcp")(t))).toEqual([]);
  });

  it("the contract imports nothing of the SDK but the error table and itself", () => {
    const allowed = (t: string) => under("sdk/src/contract")(t) || t === "sdk/src/errors.js" || under("proto/gen")(t);
    expect(violations(sources("sdk/src/contract"), (t) => !allowed(t))).toEqual([]);
  });

  it("the MCP server never imports the manager", () => {
    expect(violations(sources("mcp"), under("host"))).toEqual([]);
  });

  it("the CLI's start-up and the SDK client load neither zod, the MCP SDK, the tar code nor the manager", () => {
    for (const entry of ["cli/src/cli.ts", "sdk/src/client.ts"]) {
      const { files, packages } = startupGraph(entry);
      expect(files.size, entry).toBeGreaterThan(5);
      expect([...packages].filter((p) => ["zod", "@modelcontextprotocol/sdk", "tar-stream"].includes(p)), entry).toEqual([]);
      expect([...files].filter((f) => under("host")(f) || under("mcp")(f)), entry).toEqual([]);
    }
    // The walk does see what a module loads: the MCP server loads zod and the MCP SDK, the workspace calls the tar code.
    expect([...startupGraph("mcp/src/server.ts").packages]).toEqual(expect.arrayContaining(["zod", "@modelcontextprotocol/sdk"]));
    expect([...startupGraph("sdk/src/workspace-client.ts").packages]).toContain("tar-stream");
  });

  it("the CLI brings in the manager only for `pyro manager serve`", () => {
    expect(violations(sources("cli"), (t, f) => under("host")(t) && f !== "cli/src/commands/manager/serve.ts")).toEqual([]);
  });
});
