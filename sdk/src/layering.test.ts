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

  it("the CLI brings in the manager only for `pyro manager serve`", () => {
    expect(violations(sources("cli"), (t, f) => under("host")(t) && f !== "cli/src/commands/manager/serve.ts")).toEqual([]);
  });
});
