/**
 * The `pyro` entry point. Kept tiny: `pyro --version` answers from here, and everything
 * else is loaded on demand (the parser and commands, then per command the SDK, the MCP
 * server or the manager), so each command pays only for what it uses. It is bundled as
 * CommonJS (dist/pyro.cjs) and started by dist/pyro.mjs, which keeps a V8 code cache of it.
 */
import { VERSION } from "../../sdk/src/version.js";

const argv = process.argv.slice(2);

// Writing to a closed pipe (`pyro env list | head -1`) is not an error worth a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

async function main(): Promise<void> {
  if (argv.length === 1 && argv[0] === "--version") {
    process.stdout.write(`pyro ${VERSION}\n`);
  } else {
    if (argv[0] !== "manager") (await import("./light-headers.js")).useLightHeaders();
    const { withLazySegmenter } = await import("./lazy-segmenter.js");
    const [{ runCli }, { processIo, flushed }] = await withLazySegmenter(() => Promise.all([import("./cli.js"), import("./io.js")]));
    process.exitCode = await runCli(argv, processIo());
    // A pipe's reader may be slower than the command was: exit only once it has everything.
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    // Everything is closed by now; should a handle leak anyway, do not hang the shell.
    setTimeout(() => process.exit(), 1_000).unref();
  }
}

void main();
