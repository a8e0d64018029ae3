/** Helpers for the manager's unit tests. */
import { spawn } from "node:child_process";
import type { BackendCapabilities, Sandbox } from "./backends/backend.js";
import { unenforcedLimits } from "./backends/resources.js";
import { identify, type ProcessIdentity } from "./process-identity.js";
import { RECORD_FORMAT } from "./sandbox-record.js";

/** The identity of a process that has exited: what a lease or record of a sandbox that died names. */
export async function deadProcess(): Promise<ProcessIdentity> {
  const child = spawn("sleep", ["60"]);
  const id = (await identify(child.pid!))!;
  await new Promise((r) => {
    child.once("exit", r);
    child.kill("SIGKILL");
  });
  return id;
}

/** What a fake backend declares: nothing beyond running one-shot sandboxes. */
export const FAKE_CAPABILITIES: BackendCapabilities = {
  isolation: "none",
  limits: { vcpuCount: "none", memMib: "none", diskMib: "none", pids: "none" },
  stopStart: false,
  recover: false,
  snapshot: "none",
  network: ["off"],
  publishPorts: false,
};

/** A sandbox for tests of the layers above backends: `o` overrides the defaults (alive, nothing behind it). */
export function fakeSandbox(o: Partial<Sandbox> & { id: string }): Sandbox {
  const resources = { vcpuCount: 1, memMib: 1024, diskMib: 4096, pidsMax: 1024 };
  let destroyed = false;
  return {
    backend: "namespace",
    environment: "debian:12",
    network: false,
    durable: false,
    record: {
      format: RECORD_FORMAT,
      id: o.id,
      manager: { pid: process.pid, start: "0", boot: "", pidNs: "" },
      backend: o.backend ?? "namespace",
      dir: "/nonexistent",
      environment: { name: o.environment ?? "debian:12", rootfs: "" },
      network: false,
      resources,
      durable: false,
      state: "running",
      processes: {},
    },
    pid: process.pid,
    agent: {} as Sandbox["agent"],
    files: {} as Sandbox["files"],
    processes: {} as Sandbox["processes"],
    limits: unenforcedLimits(resources, "fake"),
    breaches: async () => [],
    alive: () => !destroyed,
    state: () => (destroyed ? "gone" : "running"),
    stop: async () => {},
    start: async () => {},
    destroy: async () => void (destroyed = true),
    ...o,
  };
}
