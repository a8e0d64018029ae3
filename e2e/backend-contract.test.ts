/**
 * The contract every backend keeps, run against each real backend in-process: a sandbox
 * starts, its agent answers, commands run with their exit codes, and destroy leaves no
 * process or directory behind. A backend that cannot run here is skipped with its reason.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HostBackend } from "../host/src/backends/host/host-backend.js";
import { NamespaceBackend } from "../host/src/backends/namespace/namespace-backend.js";
import { FirecrackerBackend } from "../host/src/backends/firecracker-backend.js";
import type { Backend } from "../host/src/backends/backend.js";
import { silentLogger } from "../host/src/logger.js";
import { findAgentBundle, prepareAgentRuntime } from "../host/src/runtime/agent-runtime.js";
import { E2E_CACHE, testDir } from "./harness.js";
import { exitedOrZombie } from "./processes.js";

const dir = testDir("pyro-contract-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runtime = () => prepareAgentRuntime(E2E_CACHE, findAgentBundle(process.env));
const version = readdirSync(join(E2E_CACHE, "environments", "debian-12")).find((v) => !v.startsWith("."))!;
const rootfs = join(E2E_CACHE, "environments", "debian-12", version, "rootfs");

const resources = { vcpuCount: 1, memMib: 512, diskMib: 1024, pidsMax: 256 };

const backends: Backend[] = [
  new NamespaceBackend({ runtime, log: silentLogger, sandboxUser: { uid: 65534, gid: 65534 } }),
  new HostBackend({ runtime, log: silentLogger }),
  new FirecrackerBackend(),
];

async function output(stream: AsyncIterable<{ event: { case: string | undefined; value?: unknown } }>) {
  let text = "";
  let exit: number | undefined;
  for await (const r of stream) {
    if (r.event.case === "output") text += Buffer.from((r.event.value as { data: Uint8Array }).data).toString();
    if (r.event.case === "exited") exit = (r.event.value as { exitCode: number }).exitCode;
  }
  return { text, exit };
}

for (const backend of backends) {
  describe(`backend contract: ${backend.name}`, async () => {
    const probe = await backend.probe();
    it.skipIf(!probe.available)(`starts, runs, and cleans up (${probe.available ? "available" : `skipped: ${probe.detail}`})`, async () => {
      const sandboxDir = join(dir, `${backend.name}-1`);
      const sandbox = await backend.create({ id: `sb-${backend.name}`, dir: sandboxDir, environment: { name: "debian:12", rootfs }, network: false, resources });
      expect(sandbox.backend).toBe(backend.name);
      expect(sandbox.alive()).toBe(true);
      const info = await sandbox.agent.getInfo({});
      expect(info.capabilities).toContain("exec.v1");
      const r = await output(sandbox.agent.exec({ shellCommand: "echo hello; exit 5" }));
      expect(r).toEqual({ text: "hello\n", exit: 5 });
      const bg = await output(sandbox.agent.exec({ shellCommand: "sleep 300 >/dev/null 2>&1 & echo $!" }));
      await sandbox.destroy();
      expect(sandbox.alive()).toBe(false);
      expect(existsSync(sandboxDir)).toBe(false);
      if (backend.name === "host") expect(await exitedOrZombie(Number(bg.text))).toBe(true); // host pids are ours to see
      await sandbox.destroy(); // twice is fine
    });
    it.skipIf(probe.available)(`is unavailable here and refuses to create: ${probe.detail}`, async () => {
      await expect(backend.create({ id: "sb-x", dir: join(dir, "x"), environment: { name: "debian:12", rootfs }, network: false, resources })).rejects.toMatchObject({ code: "backend_unavailable" });
    });
  });
}
