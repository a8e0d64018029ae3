/**
 * The launcher of a bundled program: `dist/NAME.mjs` runs `dist/NAME.cjs` (pyro: the CLI;
 * agent: the guest agent) with the V8 code cache beside it, so a start does not pay to
 * compile the program again (about a sixth of `pyro run`). When there is no cache, or this
 * Node rejects it, one is written as the process exits (so it holds the functions the run
 * compiled, not just the top level), atomically; where it cannot be written (a read-only
 * install, the sandbox's /opt/pyro) the program simply runs without.
 *
 * One bundle plays several roles (pyro is the CLI, the manager and the MCP server), and each
 * compiles other functions: each role keeps a cache of its own, so a manager started from a
 * fresh build does not leave the CLI a manager-shaped cache (which cost later CLI calls about
 * a quarter more CPU than their own).
 * Kept to Node built-ins: it runs before anything else.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, Script } from "node:vm";
import { roleOf } from "./launcher-role.js";

/** Set at build time: true for a bundle with several roles, told apart by their arguments. */
declare const PYRO_LAUNCHER_ROLES: boolean;

const self = fileURLToPath(import.meta.url);
const dir = dirname(self);
const bundle = join(dir, `${basename(self, ".mjs")}.cjs`);
const role = typeof PYRO_LAUNCHER_ROLES !== "undefined" && PYRO_LAUNCHER_ROLES ? `.${roleOf(process.argv.slice(2))}` : "";
const cacheFile = `${bundle}${role}.${process.version}.v8cache`;

let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const wrap = (Module as unknown as { wrap(source: string): string }).wrap;
const script = new Script(wrap(readFileSync(bundle, "utf8")), {
  filename: bundle,
  cachedData,
  // import() of a Node built-in, should the bundle keep one, resolves as it would in a file.
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => {
    try {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // Not writable here: run without a cache.
    }
  });
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, dir);
