// Bundles the two programs pyro ships, each one CommonJS file started by a small launcher
// that keeps a V8 code cache of it: the CLI (which is also the manager and the MCP server)
// and the guest agent (mounted read-only into every sandbox).
import { chmodSync, rmSync } from "node:fs";
import { build } from "esbuild";

// The scripts of `npm run bench` and `npm run stress`, not shipped: built beside a build.
const scripts = ["bench", "stress"].filter((name) => process.argv.includes(`--${name}`));

// Start clean: dist/ holds one build, and no code cache of an older one.
if (scripts.length === 0) rmSync("dist", { recursive: true, force: true });

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  legalComments: "none",
  minify: true,
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __pyroCreateRequire } from 'node:module'; const require = __pyroCreateRequire(import.meta.url);" },
};

// The CLI and the agent as one CommonJS file each, so their launchers can run them with a
// V8 code cache (Node 20 has no compile cache for ES modules). Dynamic imports stay lazy:
// esbuild evaluates a module only when its import() runs.
for (const [name, entry] of [["pyro", "cli/src/main.ts"], ["agent", "guest/src/main.ts"]]) {
  await build({
    ...common,
    entryPoints: { [name]: entry },
    outfile: `dist/${name}.cjs`,
    format: "cjs",
    define: { "import.meta.url": "__pyroImportMetaUrl" },
    banner: { js: "var __pyroImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    alias: name === "pyro" ? { "string-width": "./cli/src/lazy-string-width.ts" } : {},
  });
}

// The launchers: dist/NAME.mjs starts dist/NAME.cjs with a V8 code cache; pyro's keeps one
// per role (CLI, manager, MCP server), since each compiles other parts of the bundle.
for (const name of ["pyro", "agent"]) {
  await build({
    ...common,
    entryPoints: { [name]: "cli/src/launcher.ts" },
    outfile: `dist/${name}.mjs`,
    banner: { js: "#!/usr/bin/env node" },
    define: { PYRO_LAUNCHER_ROLES: String(name === "pyro") },
  });
  chmodSync(`dist/${name}.mjs`, 0o755);
}

for (const name of scripts) {
  await build({
    ...common,
    entryPoints: { [name]: `e2e/${name}.ts` },
    outdir: "dist",
    outExtension: { ".js": ".mjs" },
    // The stress script bundles the hostile test agent when it runs.
    external: ["esbuild"],
  });
}
