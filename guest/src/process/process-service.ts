/** pyro.guest.v1.ProcessService: a thin adapter over the process table, one module per RPC. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { ConnectResponseSchema, StartResponseSchema, type ProcessService } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { toConnectError } from "../../../sdk/src/errors.js";
import { connectEvents, findProcess } from "./connect.js";
import { listProcesses } from "./list.js";
import type { ProcessTable } from "./process-table.js";
import { sendInput } from "./send-input.js";
import { sendSignal } from "./send-signal.js";
import { processEvents, startProcess } from "./start.js";
import { followEvent, startedEvent } from "./wire.js";

/** Every error leaves as a PyroError's code and message (toConnectError makes anything else `internal`). */
function mapped<A extends unknown[], R>(fn: (...args: A) => Promise<R> | R): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toConnectError(err);
    }
  };
}

export function processService(table: ProcessTable): ServiceImpl<typeof ProcessService> {
  return {
    async *start(req, ctx) {
      try {
        const proc = await startProcess(table, req);
        yield create(StartResponseSchema, { event: startedEvent(proc) });
        for await (const e of processEvents(proc, req.killOnDisconnect, ctx.signal)) yield create(StartResponseSchema, { event: followEvent(e) });
      } catch (err) {
        throw toConnectError(err);
      }
    },
    async *connect(req, ctx) {
      try {
        const proc = findProcess(table, req);
        yield create(ConnectResponseSchema, { event: startedEvent(proc) });
        for await (const e of connectEvents(proc, req, ctx.signal)) yield create(ConnectResponseSchema, { event: followEvent(e) });
      } catch (err) {
        throw toConnectError(err);
      }
    },
    sendInput: mapped((req, ctx) => sendInput(table, req, ctx.signal)),
    sendSignal: mapped((req) => sendSignal(table, req)),
    list: mapped(() => listProcesses(table)),
  };
}
