/**
 * The floor of a streamed download: one gRPC hop. An in-process Connect server on a Unix
 * socket answers ExportWorkspace with `bytes` in chunks of `chunkBytes` (the size the manager
 * sends an export in), uncompressed as the manager's are, read by a client made as the SDK
 * makes its own; nothing else (no guest, no tar, no files). Client and server share this process, as the manager's two hops
 * share it.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http2";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { WorkspaceService } from "../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { unixTransport } from "../../sdk/src/transport.js";

/** Milliseconds of each of `runs` downloads (after one warm-up) of `bytes` over one gRPC hop on a Unix socket in `dir`. */
export async function grpcStreamMs(dir: string, bytes: number, chunkBytes: number, runs: number): Promise<number[]> {
  const chunk = randomBytes(chunkBytes);
  const server = createServer(
    connectNodeAdapter({
      grpc: true,
      connect: false,
      grpcWeb: false,
      // As the manager's router: no compression (the adapter would gzip every response).
      acceptCompression: [],
      routes: (router) =>
        router.service(WorkspaceService, {
          async *exportWorkspace() {
            yield { part: { case: "started", value: { type: "directory", path: "data" } } };
            for (let sent = 0; sent < bytes; sent += chunkBytes) yield { part: { case: "chunk", value: chunk.subarray(0, Math.min(chunkBytes, bytes - sent)) } };
          },
        }),
    }),
  );
  const socketPath = join(dir, "grpc-floor.sock");
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(socketPath, () => ok());
  });
  const t = unixTransport(socketPath);
  try {
    const client = createClient(WorkspaceService, t.transport);
    const ms: number[] = [];
    for (let i = 0; i < 1 + runs; i++) {
      const t0 = performance.now();
      let got = 0;
      for await (const res of client.exportWorkspace({ workspace: "floor", path: "data" })) if (res.part.case === "chunk") got += res.part.value.length;
      const dt = performance.now() - t0;
      if (got !== bytes) throw new Error(`the gRPC floor streamed ${got} bytes, not ${bytes}`);
      if (i > 0) ms.push(dt);
    }
    return ms;
  } finally {
    t.close();
    await new Promise<void>((ok) => server.close(() => ok()));
  }
}
