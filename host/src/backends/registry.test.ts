import { describe, expect, it } from "vitest";
import type { Backend, BackendName, Probe, Sandbox } from "./backend.js";
import { BackendRegistry } from "./registry.js";
import { FAKE_CAPABILITIES } from "../testing.js";

function fake(name: BackendName, available: boolean, isolated = name !== "host"): Backend {
  const probe: Probe = { available, detail: available ? "ok" : `${name} missing`, hint: available ? "" : `install ${name}` };
  return { name, isolated, capabilities: FAKE_CAPABILITIES, probe: async () => probe, create: async () => ({}) as Sandbox, recover: async () => "gone" };
}

describe("BackendRegistry", () => {
  it("picks the strongest available isolating backend automatically", async () => {
    const r = new BackendRegistry([fake("firecracker", false), fake("namespace", true), fake("host", true)]);
    expect((await r.select("", false)).name).toBe("namespace");
    const withVm = new BackendRegistry([fake("firecracker", true), fake("namespace", true), fake("host", true)]);
    expect((await withVm.select("", false)).name).toBe("firecracker");
  });

  it("never falls back to the host backend silently", async () => {
    const r = new BackendRegistry([fake("firecracker", false), fake("namespace", false), fake("host", true)]);
    await expect(r.select("", true)).rejects.toMatchObject({ code: "backend_unavailable" });
  });

  it("needs allow_host_compat for the host backend", async () => {
    const r = new BackendRegistry([fake("namespace", true), fake("host", true)]);
    await expect(r.select("host", false)).rejects.toMatchObject({ code: "host_compat_not_allowed" });
    expect((await r.select("host", true)).name).toBe("host");
  });

  it("refuses unknown and unavailable backends by name", async () => {
    const r = new BackendRegistry([fake("firecracker", false), fake("namespace", true)]);
    await expect(r.select("docker", false)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(r.select("firecracker", false)).rejects.toMatchObject({ code: "backend_unavailable", hint: "install firecracker" });
  });
});
