/** pyro.manager.v1.RunService: a thin adapter over the Runner. */
import type { ServiceImpl } from "@connectrpc/connect";
import { RunService } from "../../../proto/gen/pyro/manager/v1/run_service_pb.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner.js";
import { streaming } from "./guard.js";

export function runService(o: { runner: Runner; log: Logger }): ServiceImpl<typeof RunService> {
  return { run: streaming(o.log, "Run", (req, ctx) => o.runner.run(req, ctx.signal)) };
}
