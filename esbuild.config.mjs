// Bundles the two programs pyro ships: the CLI (which is also the manager and the MCP
// server; code split so `pyro run` loads only what it uses) and the guest agent (one
// self-contained file, mounted read-only into every sandbox).
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Chunk names carry content hashes: clear old ones so dist/ holds one build.
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

await build({
  ...common,
  entryPoints: { pyro: "cli/src/main.ts" },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: "#!/usr/bin/env node\n" + common.banner.js },
});

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
