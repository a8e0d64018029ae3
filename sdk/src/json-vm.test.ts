import { describe, expect, it } from "vitest";
import { vmJson, vmNetworkJson, vmNetworkSummary, vmReapJson, vmReapSummary, vmSummary } from "./json-vm.js";
import type { WorkspaceInfo } from "./workspace-types.js";

const limit = { value: 1, enforced: true, detail: "cgroup" };

function workspace(o: Partial<WorkspaceInfo> = {}): WorkspaceInfo {
  return {
    workspaceId: "ws-1",
    name: "",
    labels: {},
    state: "started",
    environment: "debian:12",
    executionMode: "namespace",
    createdAt: "t0",
    lastActivityAt: "t1",
    expiresAt: "t2",
    ttlSeconds: 600,
    limits: { vcpuCount: limit, memMib: limit, diskMib: limit, pids: limit },
    seccomp: "pyro-default/x86_64",
    network: false,
    sandboxId: "sb-1",
    commandCount: 1,
    snapshots: [],
    failure: "",
    ...o,
  };
}

describe("a VM's rendering", () => {
  it("reports the workspace id as vm_id, without what a VM does not have", () => {
    const j = vmJson(workspace({ name: "n", labels: { a: "b" }, snapshots: ["s"] }));
    expect(j).toMatchObject({ vm_id: "ws-1", state: "started", network: false, command_count: 1 });
    for (const key of ["workspace_id", "name", "labels", "snapshots"]) expect(Object.keys(j)).not.toContain(key);
    expect(vmSummary(j)).toBe("VM ws-1 is started: debian:12 on the namespace backend, network off, 1 command run, expires t2.");
  });
});

describe("a VM's network, from its record", () => {
  it("namespace without network: loopback only, no address", () => {
    const n = vmNetworkJson(workspace());
    expect(n).toMatchObject({ vm_id: "ws-1", network: false, outbound: false, mode: "off", guest_ip: "" });
    expect(n.detail).toMatch(/loopback only/);
    expect(n.detail).toMatch(/No address is reported/);
    expect(vmNetworkSummary(n)).toMatch(/^VM ws-1 \(namespace backend\) has no outbound access/);
  });

  it("namespace with network: the internet only, behind the egress filter", () => {
    const n = vmNetworkJson(workspace({ network: true }));
    expect(n).toMatchObject({ network: true, outbound: true, mode: "egress", guest_ip: "" });
    expect(n.detail).toMatch(/internet only/);
    expect(n.detail).toMatch(/link-local \(cloud metadata\)/);
  });

  it("host: the host's own network whatever was asked, and says so", () => {
    const n = vmNetworkJson(workspace({ executionMode: "host", network: false, seccomp: "" }));
    expect(n).toMatchObject({ network: false, outbound: true, mode: "host" });
    expect(n.detail).toMatch(/does not isolate the network/);
    expect(n.detail).toMatch(/even though network was off/);
    expect(vmNetworkSummary(n)).toMatch(/the host's own network \(no isolation\)/);
  });

  it("another backend: only what the record says; a stopped VM says nothing runs", () => {
    const n = vmNetworkJson(workspace({ executionMode: "firecracker", network: true, state: "stopped" }));
    expect(n).toMatchObject({ outbound: true, mode: "egress" });
    expect(n.detail).toMatch(/the firecracker backend reports no more/);
    expect(n.detail).toMatch(/stopped: nothing runs in it until vm_start/);
  });
});

describe("reaping", () => {
  it("lists the ids, or says nothing had expired", () => {
    expect(vmReapJson(["ws-1", "ws-2"])).toEqual({ reaped: ["ws-1", "ws-2"] });
    expect(vmReapSummary({ reaped: ["ws-1"] })).toBe("Deleted 1 expired VM or workspace: ws-1");
    expect(vmReapSummary({ reaped: [] })).toMatch(/Nothing had expired/);
  });
});
