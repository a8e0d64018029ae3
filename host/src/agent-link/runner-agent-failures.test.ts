/**
 * The Runner's exec loop against agents that misbehave, in-process: a fake AgentService
 * behind Connect's router transport stands in for the sandbox (the real thing, in real
 * sandboxes, is e2e/agent-link.test.ts).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { AgentService, type ExecResponse, ExecResponseSchema } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { RunRequestSchema, type RunResponse } from "../../../proto/gen/pyro/manager/v1/run_service_pb.js";
import { PyroError, toConnectError } from "../../../sdk/src/errors.js";
import type { Backend, Sandbox } from "../backends/backend.js";
import { BackendRegistry } from "../backends/registry.js";
import { unenforcedLimits } from "../backends/resources.js";
import type { EnvironmentStore } from "../environments/store.js";
import { streamLogger } from "../logger.js";
import { Runner } from "../runner.js";
import { SandboxPool } from "../sandbox-pool.js";
import { FAKE_CAPABILITIES, fakeSandbox } from "../testing.js";
import { Writable } from "node:stream";

// The runner makes each sandbox's directory (with its record) before the backend runs.
const stateDir = mkdtempSync(join(tmpdir(), "pyro-runner-agent-"));
mkdirSync(join(stateDir, "sandboxes"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

type Ev = MessageInitShape<typeof ExecResponseSchema>["event"];
const ev = (e: Ev): ExecResponse => create(ExecResponseSchema, { event: e });

/** A Runner whose every sandbox's agent runs `exec`; returns what the run streamed or the error it failed with, and the log. */
async function runAgainst(exec: ServiceImpl<typeof AgentService>["exec"], opts: { signal?: AbortSignal } = {}) {
  const lines: string[] = [];
  const log = streamLogger(new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  const transport = createRouterTransport(({ service }) => service(AgentService, { getInfo: () => ({}), exec }));
  const sandbox: Sandbox = fakeSandbox({
    id: "sb-test",
    backend: "host",
    agent: createClient(AgentService, transport),
    files: {} as Sandbox["files"],
    limits: unenforcedLimits({ vcpuCount: 1, memMib: 1024, diskMib: 4096, pidsMax: 1024 }, "the host backend"),
    alive: () => true,
    destroy: async () => {},
  });
  const backend: Backend = {
    name: "host",
    isolated: false,
    capabilities: FAKE_CAPABILITIES,
    probe: async () => ({ available: true, detail: "", hint: "" }),
    create: async () => sandbox,
    recover: async () => "gone",
  };
  const pool = new SandboxPool({ size: 0, idleMs: 60_000, log });
  const runner = new Runner({ stateDir, store: {} as EnvironmentStore, backends: new BackendRegistry([backend]), pool, defaultBackend: "", log });
  const req = create(RunRequestSchema, { environment: "debian:12", argv: ["fuzz"], backend: "host", allowHostCompat: true, timeoutSeconds: 5 });
  const events: RunResponse["event"]["case"][] = [];
  const responses: RunResponse[] = [];
  try {
    for await (const res of runner.run(req, opts.signal ?? new AbortController().signal)) {
      events.push(res.event.case);
      responses.push(res);
    }
    return { events, responses, error: undefined, lines };
  } catch (err) {
    if (!(err instanceof PyroError)) throw err;
    return { events, responses, error: err, lines };
  } finally {
    await pool.close();
  }
}

const started = ev({ case: "started", value: { pid: 5 } });
const exited = (v: { exitCode?: number; signal?: string } = {}) => ev({ case: "exited", value: { exitCode: 0, signal: "", durationMs: 1n, ...v } });

describe("Runner with a misbehaving agent", () => {
  it("an honest agent's run passes", async () => {
    const r = await runAgainst(async function* () {
      yield started;
      yield ev({ case: "output", value: { stream: 1, data: Buffer.from("hi") } });
      yield exited();
    });
    expect(r.error).toBeUndefined();
    expect(r.events).toEqual(["started", "output", "exited"]);
  });

  it("passes output on field by field: fields the agent added do not travel to the client", async () => {
    const r = await runAgainst(async function* () {
      yield started;
      const out = ev({ case: "output", value: { stream: 1, data: Buffer.from("hi") } });
      if (out.event.case === "output") out.event.value.$unknown = [{ no: 99, wireType: WireType.LengthDelimited, data: Uint8Array.of(3, 0x41, 0x42, 0x43) }];
      yield out;
      yield exited();
    });
    expect(r.error).toBeUndefined();
    const output = r.responses.find((x) => x.event.case === "output")!.event.value as { $unknown?: unknown[]; data: Uint8Array };
    expect(Buffer.from(output.data).toString()).toBe("hi");
    expect(output.$unknown ?? []).toEqual([]);
  });

  it("a forged exited with a 3.9 MB signal fails with sandbox_failed, and neither the error nor the log carries it", async () => {
    const r = await runAgainst(async function* () {
      yield started;
      yield exited({ exitCode: -1, signal: "S".repeat(3_900_000) });
    });
    expect(r.error?.code).toBe("sandbox_failed");
    expect(r.events).toEqual(["started"]);
    expect(r.error!.message.length).toBeLessThan(300);
    for (const line of r.lines) expect(line.length).toBeLessThan(2_000);
    expect(r.lines.join("")).toContain("unknown signal");
  });

  it("a stream that ends without an exit status is sandbox_failed", async () => {
    const r = await runAgainst(async function* () {
      yield started;
    });
    expect(r.error?.code).toBe("sandbox_failed");
  });

  it("an agent that dies mid-run is sandbox_failed, not cancelled", async () => {
    const r = await runAgainst(async function* () {
      yield started;
      // What the manager sees when the agent's connection closes under an open call.
      throw new ConnectError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled);
    });
    expect(r.error?.code).toBe("sandbox_failed");
  });

  it("the caller's own interrupt stays cancelled", async () => {
    const ac = new AbortController();
    const r = await runAgainst(
      async function* (_req, ctx) {
        yield started;
        ac.abort();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      },
      { signal: ac.signal },
    );
    expect(r.error?.code).toBe("cancelled");
  });

  it("a guest error code off the allow-list is sandbox_failed, whatever the agent says", async () => {
    for (const code of ["manager_already_running", "internal", "timeout", "not_a_code"] as const) {
      const r = await runAgainst(async function* () {
        yield started;
        throw code === "not_a_code" ? new ConnectError("x".repeat(1 << 20), Code.NotFound) : toConnectError(new PyroError(code, "\u001b[31mforged"));
      });
      expect(r.error?.code, code).toBe("sandbox_failed");
      expect(r.error!.message).not.toContain("forged");
      for (const line of r.lines) expect(line.length).toBeLessThan(2_000);
    }
  });

  it("allowed guest codes pass in the manager's words: guest text is stripped of control characters and capped", async () => {
    const notFound = await runAgainst(async function* () {
      throw toConnectError(new PyroError("command_not_found", "\u001b]0;pwned\u0007 lies", { hint: "run rm -rf /" }));
    });
    expect(notFound.error?.code).toBe("command_not_found");
    expect(notFound.error!.message).toContain('"fuzz"');
    expect(notFound.error!.message).not.toContain("lies");
    expect(notFound.error!.hint).not.toContain("rm -rf");

    const refused = await runAgainst(async function* () {
      throw toConnectError(new PyroError("invalid_argument", "bad cwd \u001b[2J" + "y".repeat(1 << 20), { hint: "run rm -rf /" }));
    });
    expect(refused.error?.code).toBe("invalid_argument");
    expect(refused.error!.message).toContain("bad cwd ?[2J");
    expect(refused.error!.message.length).toBeLessThan(400);
    expect(refused.error!.hint).not.toContain("rm -rf");
  });
});
