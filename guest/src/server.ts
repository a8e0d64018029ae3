/** Serves pyro.guest.v1 over HTTP/2 (gRPC, Connect and gRPC-Web) on a Unix socket. */
import { createServer, type Http2Server } from "node:http2";
import { chmod, mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { FileService } from "../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { ProcessService } from "../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { toConnectError } from "../../sdk/src/errors.js";
import { exec } from "./exec.js";
import { fileService } from "./files/file-service.js";
import { getInfo } from "./get-info.js";
import { ProcessTable, type ProcessTableOptions } from "./process/process-table.js";
import { processService } from "./process/process-service.js";

export function agentRoutes(table: ProcessTable) {
  return (router: ConnectRouter) =>
    router
      .service(AgentService, {
        getInfo: () => getInfo(table.workspaceDir),
        async *exec(req, ctx) {
          try {
            yield* exec(req, ctx.signal, table);
          } catch (err) {
            throw toConnectError(err);
          }
        },
      })
      .service(ProcessService, processService(table))
      .service(FileService, fileService(table.workspaceDir));
}

/**
 * Where the agent serves: a listening socket the host made and passed in as an inherited
 * fd (sandboxes: the host binds it in a directory only the host can write, so it can dial
 * it again safely at any time), or a path the agent binds itself (the host backend).
 */
export type AgentListen = { fd: number } | { socketPath: string };

/** Serves on `listen` (with `table`, or a new table made of `table`'s options) and resolves once it accepts connections. */
export async function serveAgent(listen: AgentListen, table: ProcessTable | ProcessTableOptions): Promise<Http2Server> {
  const routes = agentRoutes(table instanceof ProcessTable ? table : new ProcessTable(table));
  const server = createServer(connectNodeAdapter({ routes }));
  if ("socketPath" in listen) {
    await mkdir(dirname(listen.socketPath), { recursive: true });
    await rm(listen.socketPath, { force: true });
  }
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    if ("fd" in listen) server.listen({ fd: listen.fd }, () => ok());
    else server.listen(listen.socketPath, () => ok());
  });
  if ("socketPath" in listen) await chmod(listen.socketPath, 0o600);
  return server;
}
