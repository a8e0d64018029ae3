/** pyro.manager.v1.SystemService: version and doctor. */
import type { ServiceImpl } from "@connectrpc/connect";
import { SystemService } from "../../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { VERSION } from "../../../sdk/src/version.js";
import { doctor, type DoctorOptions } from "../doctor.js";
import type { Logger } from "../logger.js";
import { unary } from "./guard.js";

export function systemService(o: DoctorOptions & { log: Logger }): ServiceImpl<typeof SystemService> {
  const started = Date.now();
  return {
    getVersion: unary(o.log, "GetVersion", () => ({ version: VERSION, pid: process.pid, uptimeSeconds: BigInt(Math.floor((Date.now() - started) / 1000)) })),
    doctor: unary(o.log, "Doctor", () => doctor(o)),
  };
}
