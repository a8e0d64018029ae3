/**
 * Bulk bytes out of a workspace: an export of a directory to a host directory, and a command's
 * output. To tell where the time goes: the CPU the manager, the sandbox and this process used,
 * and for an export, its tar stream read raw from the manager (no extraction) and the same tar
 * made inside the sandbox (exec, output discarded there).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { workspaceClient } from "../workspace-client.js";
import type { BenchWorkspaces } from "./bench-workspaces.js";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** A directory `data/` of `files` files of 1 MiB of random bytes, as a seed. */
function exportSeed(dir: string, files: number): string {
  const seed = join(dir, "export-seed");
  mkdirSync(join(seed, "data"), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(seed, "data", `f${String(i).padStart(2, "0")}.bin`), randomBytes(1 << 20));
  return seed;
}

/**
 * exportWorkspace of `data/` (`files` × 1 MiB) to a new host directory, deleted after each run
 * (untimed); the raw stream and the in-sandbox tar on the same workspace.
 */
export async function exportFigure(ws: BenchWorkspaces, dir: string, socketPath: string, files: number, runs: number) {
  const w = await ws.create({ seedPath: exportSeed(dir, files) });
  const sdk: number[] = [];
  const raw: number[] = [];
  const tarInSandbox: number[] = [];
  let tarBytes = 0;
  let cpu: Record<string, number> = {};
  const c = workspaceClient(socketPath);
  try {
    const meter = ws.cpuMeter(w.sandboxId);
    for (let i = 0; i < 1 + runs; i++) {
      if (i === 1) meter.start();
      const out = join(dir, `export-${i}`);
      const t0 = performance.now();
      const r = await ws.pyro.exportWorkspace(w.workspaceId, "data", out);
      if (i > 0) sdk.push(performance.now() - t0);
      check(r.files === files, `the export wrote ${r.files} files, not ${files}`);
      rmSync(out, { recursive: true, force: true });
    }
    cpu = meter.stop();
    for (let i = 0; i < 1 + runs; i++) {
      const t0 = performance.now();
      let got = 0;
      for await (const res of c.client.exportWorkspace({ workspace: w.workspaceId, path: "data" })) if (res.part.case === "chunk") got += res.part.value.length;
      if (i > 0) raw.push(performance.now() - t0);
      tarBytes = got;
    }
    for (let i = 0; i < 1 + runs; i++) {
      const t0 = performance.now();
      const t = await ws.pyro.execWorkspace(w.workspaceId, "tar -cf - data | cat >/dev/null");
      if (i > 0) tarInSandbox.push(performance.now() - t0);
      check(t.exitCode === 0, `tar in the sandbox exited ${t.exitCode}: ${t.stderr}`);
    }
  } finally {
    c.close();
    await ws.delete(w.workspaceId);
  }
  return { sdk, raw, tarInSandbox, tarBytes, cpu };
}

/** execWorkspace of `head -c <bytes> /dev/zero`, its output counted as it streams; also the chunks it came in (the last run's) and the CPU it took. */
export async function execOutput(ws: BenchWorkspaces, w: { workspaceId: string; sandboxId: string }, bytes: number, runs: number) {
  const id = w.workspaceId;
  const ms: number[] = [];
  let chunks = 0;
  const meter = ws.cpuMeter(w.sandboxId);
  for (let i = 0; i < 1 + runs; i++) {
    if (i === 1) meter.start();
    let got = 0;
    chunks = 0;
    const t0 = performance.now();
    const r = await ws.pyro.execWorkspace(id, ["head", "-c", String(bytes), "/dev/zero"], {
      onOutput: (stream, data) => {
        if (stream === "stdout") {
          got += data.length;
          chunks++;
        }
      },
    });
    const dt = performance.now() - t0;
    check(r.exitCode === 0 && got === bytes, `head wrote ${got} bytes, not ${bytes} (exit ${r.exitCode})`);
    if (i > 0) ms.push(dt);
  }
  return { ms, chunks, cpu: meter.stop() };
}
