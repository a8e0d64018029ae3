// Bundles the two programs pyro ships: the CLI (which is also the manager and the MCP
// server), started through a small launcher that keeps a V8 code cache of it, and the
// guest agent (one self-contained file, mounted read-only into every sandbox).
import { chmodSync, rmSync } from "node:fs";
import { build } from "esbuild";

// Start clean: dist/ holds one build, and no code cache of an older one.
if (!process.argv.includes("--bench")) rmSync("dist", { recursive: true, force: true });

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

// The CLI as one CommonJS file, so dist/pyro.mjs can run it with a V8 code cache (Node 20
// has no compile cache for ES modules). Dynamic imports stay lazy: esbuild evaluates a
// module only when its import() runs.
await build({
  ...common,
  entryPoints: { pyro: "cli/src/main.ts" },
  outfile: "dist/pyro.cjs",
  format: "cjs",
  define: { "import.meta.url": "__pyroImportMetaUrl" },
  banner: { js: "var __pyroImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});

await build({
  ...common,
  entryPoints: { pyro: "cli/src/launcher.ts" },
  outfile: "dist/pyro.mjs",
  banner: { js: "#!/usr/bin/env node" },
});
chmodSync("dist/pyro.mjs", 0o755);

await build({
  ...common,
  entryPoints: { agent: "guest/src/main.ts" },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
});

// `npm run bench` only; not shipped.
if (process.argv.includes("--bench")) {
  await build({
    ...common,
    entryPoints: { bench: "e2e/bench.ts" },
    outdir: "dist",
    outExtension: { ".js": ".mjs" },
  });
}
