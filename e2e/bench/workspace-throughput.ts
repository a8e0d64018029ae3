/**
 * Bulk bytes out of a workspace: an export of a directory to a host directory, and a command's
 * output. Apart, to tell where an export's time goes: the export's tar stream read raw from the
 * manager (no extraction), and the same tar made inside the sandbox (exec, output discarded there).
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
  const c = workspaceClient(socketPath);
  try {
    for (let i = 0; i < 1 + runs; i++) {
      const out = join(dir, `export-${i}`);
      let t0 = performance.now();
      const r = await ws.pyro.exportWorkspace(w.workspaceId, "data", out);
      const tSdk = performance.now() - t0;
      rmSync(out, { recursive: true, force: true });
      check(r.files === files, `the export wrote ${r.files} files, not ${files}`);

      t0 = performance.now();
      let got = 0;
      for await (const res of c.client.exportWorkspace({ workspace: w.workspaceId, path: "data" })) if (res.part.case === "chunk") got += res.part.value.length;
      const tRaw = performance.now() - t0;
      tarBytes = got;

      t0 = performance.now();
      const t = await ws.pyro.execWorkspace(w.workspaceId, "tar -cf - data | cat >/dev/null");
      const tTar = performance.now() - t0;
      check(t.exitCode === 0, `tar in the sandbox exited ${t.exitCode}: ${t.stderr}`);
      if (i > 0) {
        sdk.push(tSdk);
        raw.push(tRaw);
        tarInSandbox.push(tTar);
      }
    }
  } finally {
    c.close();
    await ws.delete(w.workspaceId);
  }
  return { sdk, raw, tarInSandbox, tarBytes };
}

/** execWorkspace of `head -c <bytes> /dev/zero`, its output counted as it streams; also the chunks it came in (the last run's). */
export async function execOutput(ws: BenchWorkspaces, id: string, bytes: number, runs: number): Promise<{ ms: number[]; chunks: number }> {
  const ms: number[] = [];
  let chunks = 0;
  for (let i = 0; i < 1 + runs; i++) {
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
  return { ms, chunks };
}
