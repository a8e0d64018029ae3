/** Table entries of a workspace's snapshots: named copies of /workspace to reset to. */
import { snapshotJson, snapshotListJson, snapshotListSummary } from "../json-workspace.js";
import { defineOperation } from "./spec.js";
import { READ_ONLY, SNAPSHOT_NAME, WORKSPACE_ID } from "./workspace-params.js";

export const snapshotCreate = defineOperation({
  name: "snapshot_create",
  title: "Snapshot a workspace",
  description: "Keep a named copy of a workspace's /workspace, to come back to with workspace_reset (snapshot).",
  params: [WORKSPACE_ID, SNAPSHOT_NAME],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.createSnapshot(a.workspace_id, a.snapshot_name, { signal: ctx.signal }),
  json: snapshotJson,
  summary: (j) => `Snapshot ${j.name} taken (${j.size_bytes} bytes).`,
});

export const snapshotList = defineOperation({
  name: "snapshot_list",
  title: "List a workspace's snapshots",
  description: "List a workspace's snapshots, oldest first.",
  params: [WORKSPACE_ID],
  annotations: READ_ONLY,
  profiles: ["workspace-full"],
  call: (client, a, ctx) => client.listSnapshots(a.workspace_id, { signal: ctx.signal }),
  json: snapshotListJson,
  summary: snapshotListSummary,
});

export const snapshotDelete = defineOperation({
  name: "snapshot_delete",
  title: "Delete a snapshot",
  description: "Delete one of a workspace's snapshots.",
  params: [WORKSPACE_ID, SNAPSHOT_NAME],
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  profiles: ["workspace-full"],
  call: async (client, a, ctx) => {
    await client.deleteSnapshot(a.workspace_id, a.snapshot_name, { signal: ctx.signal });
    return a.snapshot_name;
  },
  json: (name) => ({ snapshot_name: name, deleted: true }),
  summary: (j) => `Deleted snapshot ${j.snapshot_name}.`,
});
