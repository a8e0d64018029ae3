/** Serves pyro.guest.v1 over HTTP/2 (gRPC, Connect and gRPC-Web) on a Unix socket. */
import { createServer, type Http2Server } from "node:http2";
import { chmod, mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { toConnectError } from "../../sdk/src/errors.js";
import { exec, type ExecOptions } from "./exec.js";
import { getInfo } from "./get-info.js";

export function agentRoutes(opts: ExecOptions) {
  return (router: ConnectRouter) =>
    router.service(AgentService, {
      getInfo: () => getInfo(opts.workspaceDir),
      async *exec(req, ctx) {
        try {
          yield* exec(req, ctx.signal, opts);
        } catch (err) {
          throw toConnectError(err);
        }
      },
    });
}

/** Listens on `socketPath` (replacing a stale socket) and resolves once it accepts connections. */
export async function serveAgent(socketPath: string, opts: ExecOptions): Promise<Http2Server> {
  await mkdir(dirname(socketPath), { recursive: true });
  await rm(socketPath, { force: true });
  const server = createServer(connectNodeAdapter({ routes: agentRoutes(opts) }));
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(socketPath, () => ok());
  });
  await chmod(socketPath, 0o600);
  return server;
}
