/**
 * The repro-fix loop on the pyro SDK: a workspace seeded with a small project whose test
 * fails (cli/examples/seed), then reproduce → read → patch → test → diff → export → reset
 * → delete.
 *
 *   npx vite-node sdk/examples/repro-fix.ts [OUTPUT_DIR]
 *
 * OUTPUT_DIR (which must not exist yet) receives the fixed project; default: a new
 * temporary directory. The client uses the manager at $PYRO_MANAGER_SOCKET (or the default
 * socket) and starts one when none answers. Outside this repository the import is
 * `import { Pyro, PyroError } from "pyro-mcp"`.
 */
import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pyro, PyroError } from "../src/index.js";

const seed = fileURLToPath(new URL("../../cli/examples/seed", import.meta.url));
const fix = await readFile(new URL("../../cli/examples/fix.diff", import.meta.url), "utf8");
const output = process.argv[2] ?? join(mkdtempSync(join(tmpdir(), "pyro-example-")), "slugify");

const pyro = new Pyro();
const ws = await pyro.createWorkspace("debian:12", { seedPath: seed, labels: { example: "repro-fix" } });
const id = ws.workspaceId;
console.log(`created ${id} (${ws.environment} on the ${ws.executionMode} backend)`);
try {
  // 1. Reproduce: a failing command is a result (its exit code), not an exception.
  const before = await pyro.execWorkspace(id, "sh test.sh");
  process.stdout.write(before.stdout);
  if (before.exitCode === 0) throw new Error("the seed's tests were expected to fail");

  // 2. Read the code under test.
  const file = await pyro.readWorkspaceFile(id, "slugify.sh");
  process.stdout.write(file.content);

  // 3. Fix it: every hunk must match, or nothing is written.
  const applied = await pyro.applyWorkspacePatch(id, fix);
  console.log(`patched ${applied.filesChanged} file(s)`);
  try {
    await pyro.applyWorkspacePatch(id, fix);
  } catch (err) {
    // The same patch again no longer matches: patch_conflict, with every file's preflight in data.files.
    if (!(err instanceof PyroError && err.code === "patch_conflict")) throw err;
    console.log(`applying it twice: ${err.code} (${err.hint})`);
  }

  // 4. The tests pass now.
  const after = await pyro.execWorkspace(id, "sh test.sh");
  process.stdout.write(after.stdout);
  if (after.exitCode !== 0) throw new Error(`the tests still fail (exit ${after.exitCode})`);

  // 5. Review the change against the baseline, and 6. take the fixed project out.
  const diff = await pyro.diffWorkspace(id);
  process.stdout.write(diff.patch);
  const exported = await pyro.exportWorkspace(id, ".", output);
  console.log(`exported ${exported.files} files to ${exported.outputPath}`);

  // 7. Back to the baseline: the change is gone from the workspace (the export keeps it).
  await pyro.resetWorkspace(id);
  console.log(`after reset, changed: ${(await pyro.diffWorkspace(id)).changed}`);
} finally {
  // 8. Delete it, whatever happened.
  await pyro.deleteWorkspace(id);
  console.log(`deleted ${id}`);
  pyro.close();
}
