/**
 * `dist/pyro.mjs`, the `pyro` executable: starts the CLI bundle (dist/pyro.cjs) with a V8
 * code cache beside it, so a command does not pay to compile the CLI again each time (about
 * a sixth of `pyro run`). The cache is written after the first command that finds none (or
 * one this Node rejects), atomically; a cache that cannot be written is simply not kept.
 * Kept to Node built-ins: it runs before anything else.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, Script } from "node:vm";

const dir = dirname(fileURLToPath(import.meta.url));
const bundle = join(dir, "pyro.cjs");
const cacheFile = join(dir, `pyro.cjs.${process.version}.v8cache`);

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
  // After the command ran: the cache then holds the functions it compiled, not just the top level.
  process.once("beforeExit", () => {
    try {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only install: run without a cache.
    }
  });
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, dir);
