/** Table entries of a workspace's life: create, list, status, update, stop, start, reset, delete. */
import { SANDBOX_BOUNDS as B, SNAPSHOT_NAME_PATTERN } from "../contract/limits.js";
import { workspaceJson, workspaceListJson, workspaceListSummary, workspaceSummary } from "../json-workspace.js";
import { defineOperation } from "./spec.js";
import { ALLOW_HOST_COMPAT_PARAM, BACKEND_PARAM, RESOURCE_PARAMS } from "./vm.js";
import { IN_WORKSPACE, LOOP, READ_ONLY, WORKSPACE_ID } from "./workspace-params.js";

const CORE_AND_FULL = ["workspace-core", "workspace-full"] as const;

export const workspaceCreate = defineOperation({
  name: "workspace_create",
  title: "Create a workspace",
  description:
    "Create and start a persistent, isolated Linux workspace from an environment (installed first when missing), optionally seeded from a host directory or archive; the seeded state is its baseline, which workspace_diff compares with and workspace_reset returns to. " +
    `Returns its workspace_id for the other tools. ${IN_WORKSPACE} ${LOOP}`,
  params: [
    { name: "environment", kind: "string", required: true, cli: "positional", description: "Environment to start from, e.g. debian:12, debian:12-base or debian:12-build (see `pyro env list`)." },
    ...RESOURCE_PARAMS,
    { name: "ttl_seconds", kind: "integer", default: B.ttlSeconds.default, min: B.ttlSeconds.min, max: B.ttlSeconds.max, description: "Seconds the workspace lives from creation before the manager deletes it." },
    { name: "network", kind: "boolean", default: false, mcp: "full", description: "Give the workspace outbound network access (otherwise loopback only)." },
    ALLOW_HOST_COMPAT_PARAM,
    BACKEND_PARAM,
    { name: "seed_path", kind: "string", maxLength: 4096, description: "A host directory, or a .tar, .tar.gz or .tgz archive, whose contents become /workspace (the baseline)." },
    { name: "name", kind: "string", maxLength: 128, description: "A name unique among live workspaces, usable wherever the id is." },
    { name: "labels", kind: "string_map", cli: "repeatable", flag: "label", description: "Labels to find the workspace by later." },
  ],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) =>
    client.createWorkspace(a.environment, {
      vcpuCount: a.vcpu_count,
      memMib: a.mem_mib,
      diskMib: a.disk_mib,
      ttlSeconds: a.ttl_seconds,
      network: a.network,
      allowHostCompat: a.allow_host_compat,
      backend: a.backend,
      seedPath: a.seed_path || undefined,
      name: a.name,
      labels: a.labels,
      signal: ctx.signal,
      onProgress: ctx.onProgress,
    }),
  json: workspaceJson,
  summary: workspaceSummary,
});

export const workspaceList = defineOperation({
  name: "workspace_list",
  title: "List workspaces",
  description: "List the live workspaces, most recently changed first (reading a workspace never reorders it), with their ids, names, states and environments.",
  params: [],
  annotations: READ_ONLY,
  profiles: CORE_AND_FULL,
  call: (client, _a, ctx) => client.listWorkspaces({ signal: ctx.signal }),
  json: workspaceListJson,
  summary: workspaceListSummary,
});

export const workspaceStatus = defineOperation({
  name: "workspace_status",
  title: "Show a workspace",
  description: "Show one workspace: its state, environment, backend, limits, labels, snapshots, how many commands ran, and when it expires.",
  params: [WORKSPACE_ID],
  annotations: READ_ONLY,
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.statusWorkspace(a.workspace_id, { signal: ctx.signal }),
  json: workspaceJson,
  summary: workspaceSummary,
});

export const workspaceUpdate = defineOperation({
  name: "workspace_update",
  title: "Rename or relabel a workspace",
  description: "Change a workspace's name (an empty name removes it) and set or clear its labels. Its files and processes are untouched.",
  params: [
    WORKSPACE_ID,
    { name: "name", kind: "string", maxLength: 128, description: "The new name; an empty string removes it; leave it out to keep the name." },
    { name: "labels", kind: "string_map", cli: "repeatable", flag: "label", description: "Labels to add or replace." },
    { name: "clear_labels", kind: "string_list", cli: "repeatable", flag: "clear-label", description: "Label keys to remove." },
  ],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.updateWorkspace(a.workspace_id, { name: a.name, labels: a.labels, clearLabels: a.clear_labels, signal: ctx.signal }),
  json: workspaceJson,
  summary: workspaceSummary,
});

export const workspaceStop = defineOperation({
  name: "workspace_stop",
  title: "Stop a workspace",
  description: "Stop a workspace: its processes end, its files stay. workspace_start brings it back.",
  params: [WORKSPACE_ID],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.stopWorkspace(a.workspace_id, { signal: ctx.signal }),
  json: workspaceJson,
  summary: workspaceSummary,
});

export const workspaceStart = defineOperation({
  name: "workspace_start",
  title: "Start a workspace",
  description: "Start a stopped (or failed) workspace again on the same files.",
  params: [WORKSPACE_ID],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.startWorkspace(a.workspace_id, { signal: ctx.signal }),
  json: workspaceJson,
  summary: workspaceSummary,
});

export const workspaceReset = defineOperation({
  name: "workspace_reset",
  title: "Reset a workspace",
  description:
    "Recreate the workspace's sandbox from its baseline (or, in the full profile, a named snapshot): every change to /workspace, /tmp, running processes and the command history are gone; " +
    "its id, name, labels, baseline and snapshots stay. Use it to start over after a bad edit or a broken build.",
  params: [WORKSPACE_ID, { name: "snapshot", kind: "string", mcp: "full", pattern: SNAPSHOT_NAME_PATTERN, description: "Snapshot to reset to instead of the baseline." }],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.resetWorkspace(a.workspace_id, { snapshot: a.snapshot || undefined, signal: ctx.signal }),
  json: workspaceJson,
  summary: workspaceSummary,
});

export const workspaceDelete = defineOperation({
  name: "workspace_delete",
  title: "Delete a workspace",
  description: "Delete a workspace: its processes end and everything pyro kept for it (files, baseline, snapshots, history) is removed. Export what you need first.",
  params: [WORKSPACE_ID],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: CORE_AND_FULL,
  call: (client, a, ctx) => client.deleteWorkspace(a.workspace_id, { signal: ctx.signal }),
  json: (r) => ({ workspace_id: r.workspaceId, deleted: true }),
  summary: (j) => `Deleted workspace ${j.workspace_id}.`,
});
