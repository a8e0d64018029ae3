/** Any stock gRPC client can use the manager: @grpc/grpc-js with proto-loader, no Connect code. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ROOT, startManager, type TestManager } from "./harness.js";

let m: TestManager;
let client: grpc.Client & Record<string, (...args: unknown[]) => grpc.ClientReadableStream<Record<string, unknown>>>;

beforeAll(async () => {
  m = await startManager();
  const def = protoLoader.loadSync(["pyro/manager/v1/run_service.proto"], { includeDirs: [join(ROOT, "proto")], longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { pyro: { manager: { v1: { RunService: grpc.ServiceClientConstructor } } } };
  client = new pkg.pyro.manager.v1.RunService(`unix://${m.socketPath}`, grpc.credentials.createInsecure()) as never;
});
afterAll(async () => {
  client?.close();
  await m?.stop();
});

function collect(req: Record<string, unknown>): Promise<{ events: Record<string, unknown>[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const events: Record<string, unknown>[] = [];
    const call = client.run!(req);
    call.on("data", (e: Record<string, unknown>) => events.push(e));
    call.on("error", (error: grpc.ServiceError) => resolve({ events, error }));
    call.on("end", () => resolve({ events }));
  });
}

describe("grpc-js client", () => {
  it("streams a Run: started, output, exited with the backend named", async () => {
    const { events, error } = await collect({ environment: "debian:12", argv: ["git", "--version"] });
    expect(error).toBeUndefined();
    const started = events.find((e) => e.event === "started")?.started as Record<string, unknown>;
    expect(started.executionMode).toBe("namespace");
    const out = events
      .filter((e) => e.event === "output")
      .map((e) => Buffer.from((e.output as { data: Buffer }).data).toString())
      .join("");
    expect(out).toMatch(/^git version/);
    const exited = events.at(-1)!.exited as Record<string, unknown>;
    expect(exited).toMatchObject({ exitCode: 0, executionMode: "namespace" });
  });

  it("gets the stable error code in the trailers", async () => {
    const { error } = await collect({ environment: "debian:99", argv: ["true"] });
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(error?.metadata.get("pyro-error-code")).toEqual(["environment_not_found"]);
  });
});
