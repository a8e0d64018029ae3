/**
 * Walks the whole command tree: every `pyro … --help` has a one-line description and at
 * least one example, and every example is a command line the parser accepts (its command,
 * flags, choices and required positionals exist).
 */
import { describe, expect, it } from "vitest";
import { buildCli } from "../cli.js";
import type { AnyCommand } from "../context.js";
import { fakeClient, testIo } from "../testing.js";
import { COMMANDS, isGroup, TOP_LEVEL_EXAMPLES, type CommandGroup, type Example } from "./index.js";

interface Node {
  /** The command words, e.g. ["workspace", "file", "read"]. */
  path: string[];
  describe: string;
  examples: readonly Example[];
}

/** The examples a command's builder registers, read with a stand-in for yargs that records `.example()` and ignores the rest. */
function examplesOf(mod: AnyCommand): Example[] {
  const found: Example[] = [];
  const recorder: object = new Proxy(() => {}, {
    get: (_t, prop) => (prop === "example" ? (command: string, what: string) => (found.push([command, what]), recorder) : () => recorder),
  });
  mod.builder(recorder as never);
  return found;
}

function walk(entries: readonly (AnyCommand | CommandGroup)[], parent: string[]): Node[] {
  return entries.flatMap((c): Node[] => {
    if (isGroup(c)) {
      const path = [...parent, c.noun];
      return [{ path, describe: c.describe, examples: c.examples }, ...walk(c.verbs, path)];
    }
    return [{ path: [...parent, c.command.split(" ")[0]!], describe: c.describe, examples: examplesOf(c) }];
  });
}

const TREE: Node[] = [{ path: [], describe: "Disposable, isolated Linux sandboxes for coding agents.", examples: TOP_LEVEL_EXAMPLES }, ...walk(COMMANDS, [])];

/** Splits an example as a shell would, for the quoting examples use ('…', "…"); `$(…)` stays one word. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /(?:[^\s'"]+|'[^']*'|"[^"]*")+/g;
  for (const m of line.matchAll(re)) out.push(m[0].replace(/'([^']*)'|"([^"]*)"/g, (_s, a?: string, b?: string) => a ?? b ?? ""));
  return out;
}

async function help(path: string[]): Promise<string> {
  const io = testIo(fakeClient().client);
  expect(await buildCli([...path, "--help"], io).run(), path.join(" ")).toBe(0);
  return io.stdout.text;
}

describe("every pyro … --help", () => {
  it("walks the tree (every group and command)", () => {
    expect(TREE.map((n) => n.path.join(" "))).toEqual(expect.arrayContaining(["", "workspace", "workspace file read", "workspace snapshot create", "env prune", "mcp serve", "manager serve"]));
  });

  for (const node of TREE) {
    const name = ["pyro", ...node.path].join(" ");
    it(`${name}: one-line description and examples`, async () => {
      expect(node.describe.trim().length, name).toBeGreaterThan(10);
      expect(node.describe, name).not.toContain("\n");
      expect(node.examples.length, name).toBeGreaterThan(0);
      const text = await help(node.path);
      // The description sits atop the help, after the usage line.
      const top = text.split("\n")[2]!.trim();
      expect(top.length > 0 && node.describe.startsWith(top), `${name}: ${top}`).toBe(true);
      expect(text.replace(/\s+/g, " "), name).toContain(node.describe.replace(/\s+/g, " "));
      expect(text, name).toContain("\nExamples:\n");
    });

    for (const [example, what] of node.examples) {
      it(`${name}: \`${example}\` parses`, async () => {
        expect(what.trim(), example).not.toBe("");
        const argv = words(example);
        expect(argv[0]).toBe("$0");
        // An example starts with the command it documents.
        expect(argv.slice(1, 1 + node.path.length), example).toEqual(node.path.length ? node.path : argv.slice(1, 1));
        const cli = buildCli(argv.slice(1), testIo(fakeClient().client));
        // The parser throws (or rejects) on an unknown command or flag, a bad choice or a missing positional.
        await expect((async () => cli.parser.parseAsync(argv.slice(1)))(), example).resolves.toBeDefined();
      });
    }
  }
});
