/**
 * The process sandbox's life, with a fake unit: a `sleep` stands in for its processes and
 * an in-process agent serves its socket. Real backends run the same code in
 * e2e/backend-contract.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { Http2Server } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE_ENV } from "../../../guest/src/exec.js";
import { serveAgent } from "../../../guest/src/server.js";
import { silentLogger } from "../logger.js";
import { identify, isRunningSync } from "../process-identity.js";
import { newSandboxRecord, type SandboxRecord } from "../sandbox-record.js";
import type { SandboxSpec } from "./backend.js";
import { ProcessSandbox, type LaunchContext, type Liveness, type SandboxUnit } from "./process-sandbox.js";

class FakeUnit implements SandboxUnit {
  launches = 0;
  children: ChildProcess[] = [];
  servers: (Http2Server | Server)[] = [];

  async launch(ctx: LaunchContext): Promise<void> {
    this.launches++;
    const r = ctx.record;
    const workspace = join(r.dir, "workspace");
    await mkdir(workspace, { recursive: true });
    const socket = join(r.dir, "agent.sock");
    this.servers.push(await serveAgent({ socketPath: socket }, { workspaceDir: workspace, baseEnv: BASE_ENV }));
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    this.children.push(child);
    await ctx.save({ processes: { launch: (await identify(child.pid!))! }, agent: { socket } });
    await ctx.awaitAgent({ launch: child, tail: () => "" });
  }

  async end(r: SandboxRecord): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
    for (const c of this.children.splice(0)) c.kill("SIGKILL");
    const launch = r.processes.launch;
    while (launch && isRunningSync(launch)) await new Promise((res) => setTimeout(res, 5));
  }

  liveness(r: SandboxRecord): Liveness {
    return r.processes.launch && isRunningSync(r.processes.launch) ? "all" : "none";
  }

  async breaches(): Promise<[]> {
    return [];
  }

  async hasFiles(r: SandboxRecord): Promise<boolean> {
    return existsSync(join(r.dir, "workspace"));
  }

  logs(): string[] {
    return [];
  }
}

let dir: string;
let unit: FakeUnit;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-process-sandbox-"));
  unit = new FakeUnit();
});
afterEach(async () => {
  await unit.end({ processes: {} } as SandboxRecord);
  await rm(dir, { recursive: true, force: true });
});

const options = () => ({ unit, log: silentLogger, readyTimeoutMs: 5_000 });
const spec = (durable: boolean): SandboxSpec => ({
  id: "sb-0123456789",
  dir: join(dir, "sb-0123456789"),
  environment: { name: "debian:12", rootfs: "" },
  network: false,
  resources: { vcpuCount: 1, memMib: 128, diskMib: 128, pidsMax: 64 },
  durable,
});

async function run(s: { agent: ProcessSandbox["agent"] }, shellCommand: string): Promise<string> {
  let out = "";
  for await (const r of s.agent.exec({ shellCommand })) if (r.event.case === "output") out += Buffer.from(r.event.value.data).toString();
  return out;
}

describe("ProcessSandbox", () => {
  it("stops keeping its files, starts again on them, and its agent client dials the new agent", async () => {
    const s = await ProcessSandbox.create(await newSandboxRecord(spec(true), "host"), options());
    expect(s.state()).toBe("running");
    expect(await run(s, "echo kept > f; cat f")).toBe("kept\n");
    await s.stop();
    expect(s.state()).toBe("stopped");
    expect(s.record).toMatchObject({ state: "stopped", processes: {} });
    await expect(s.agent.getInfo({})).rejects.toThrow(/not running/);
    await s.start();
    expect(s.state()).toBe("running");
    expect(unit.launches).toBe(2);
    expect(await run(s, "cat f")).toBe("kept\n"); // the same client, a new connection
    await s.destroy();
    expect(s.state()).toBe("gone");
    expect(existsSync(spec(true).dir)).toBe(false);
  });

  it("notices processes that died behind its back, and starts again", async () => {
    const s = await ProcessSandbox.create(await newSandboxRecord(spec(true), "host"), options());
    unit.children[0]!.kill("SIGKILL");
    await new Promise((r) => unit.children[0]!.once("exit", r));
    expect(s.alive()).toBe(false);
    expect(s.state()).toBe("stopped");
    await s.start();
    expect(await run(s, "echo again")).toBe("again\n");
    await s.destroy();
  });

  it("is taken over running when its agent answers, and stopped (files kept) when its processes are gone", async () => {
    const made = await ProcessSandbox.create(await newSandboxRecord(spec(true), "host"), options());
    const running = made.record;
    const adopted = await ProcessSandbox.recover(running, options());
    if (adopted === "gone") throw new Error("gone");
    expect(adopted.state()).toBe("running");
    expect(await run(adopted, "echo adopted")).toBe("adopted\n");
    expect(adopted.record.processes).toEqual(running.processes);

    await unit.end(running); // killed behind its back
    const stopped = await ProcessSandbox.recover(running, options());
    if (stopped === "gone") throw new Error("gone");
    expect(stopped.state()).toBe("stopped");
    await stopped.start();
    expect(await run(stopped, "echo back")).toBe("back\n");
    await stopped.destroy();
    expect(await ProcessSandbox.recover(running, options())).toBe("gone"); // nothing left to start on
  });

  it("leaves nothing of a start that was cancelled", async () => {
    const cancelled = AbortSignal.abort();
    await expect(ProcessSandbox.create(await newSandboxRecord(spec(false), "host"), options(), cancelled)).rejects.toMatchObject({ code: "cancelled" });
    expect(existsSync(spec(false).dir)).toBe(false);
    expect(unit.launches).toBe(0);
  });
});
