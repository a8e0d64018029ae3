/** pyro.manager.v1.EnvironmentService: a thin adapter over the environment store. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { EnvironmentService, PullEnvironmentResponseSchema, type PullEnvironmentResponse } from "../../../proto/gen/pyro/manager/v1/environment_service_pb.js";
import { withProgress } from "../async-queue.js";
import { findEntry } from "../environments/catalog.js";
import type { EnvironmentStore } from "../environments/store.js";
import type { Logger } from "../logger.js";
import { pullProgress } from "../progress.js";
import type { SandboxPool } from "../sandbox-pool.js";
import { environmentMessage } from "./environment-messages.js";
import { streaming, unary } from "./guard.js";

export function environmentService(o: { store: EnvironmentStore; pool: SandboxPool; log: Logger }): ServiceImpl<typeof EnvironmentService> {
  const { store, log } = o;
  return {
    listEnvironments: unary(log, "ListEnvironments", async () => ({
      environments: (await store.list()).map((e) => environmentMessage(e.entry, e.installed)),
    })),
    pullEnvironment: streaming(log, "PullEnvironment", async function* (req, ctx): AsyncGenerator<PullEnvironmentResponse> {
      const entry = findEntry(req.name);
      if (req.force) await o.pool.drop(`${entry.name}|`);
      const installed = yield* withProgress<PullEnvironmentResponse, Awaited<ReturnType<EnvironmentStore["ensure"]>>>((push) =>
        store.ensure(entry.name, {
          force: req.force,
          signal: ctx.signal,
          onProgress: (p) => push(create(PullEnvironmentResponseSchema, { event: { case: "progress", value: pullProgress(p) } })),
        }),
      );
      // Ready sandboxes of a copy this pull replaced would keep it on disk.
      await o.pool.drop(`${entry.name}|`, (key) => key.endsWith(`|${installed.dir}`));
      yield create(PullEnvironmentResponseSchema, { event: { case: "environment", value: environmentMessage(entry, installed) } });
    }),
    inspectEnvironment: unary(log, "InspectEnvironment", async (req) => {
      const entry = findEntry(req.name);
      return { environment: environmentMessage(entry, await store.get(entry.name)) };
    }),
    pruneEnvironments: unary(log, "PruneEnvironments", async (req) => {
      // Ready sandboxes may sit on what is pruned; they are cheap to make again.
      await o.pool.drop();
      const r = await store.prune({ all: req.all });
      return { removedPaths: r.removedPaths, freedBytes: BigInt(r.freedBytes), kept: r.kept };
    }),
  };
}
