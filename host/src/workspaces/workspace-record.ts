/**
 * A workspace's record as the manager keeps it (`<state>/workspaces/<id>/workspace.json`):
 * everything needed to list, recover, restart and reset it. Read back through a schema, as
 * anything on disk may have been changed since it was written.
 */
import { z } from "zod";

export const WORKSPACE_FORMAT = "pyro.workspace/1";
/** Ids pyro makes; nothing else under workspaces/ is ever deleted. */
export const WORKSPACE_ID = /^ws-[0-9a-f]{10}$/;
/** Names: a letter or digit, then letters, digits, ".", "_" and "-"; never id-shaped. */
export const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
export const LABEL_VALUE_MAX = 256;
export const LABELS_MAX = 32;
export const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SNAPSHOTS_MAX = 32;

const SnapshotSchema = z.object({ name: z.string().regex(SNAPSHOT_NAME), createdAt: z.string(), sizeBytes: z.number().int().nonnegative() });

export const WorkspaceRecordSchema = z.object({
  format: z.literal(WORKSPACE_FORMAT),
  id: z.string().regex(WORKSPACE_ID),
  name: z.string().regex(WORKSPACE_NAME).optional(),
  labels: z.record(z.string().regex(LABEL_KEY), z.string().max(LABEL_VALUE_MAX)),
  environment: z.string().max(128),
  backend: z.enum(["namespace", "host", "firecracker"]),
  resources: z.object({ vcpuCount: z.number().int().positive(), memMib: z.number().int().positive(), diskMib: z.number().int().positive() }),
  network: z.boolean(),
  ttlSeconds: z.number().int().positive(),
  createdAt: z.string(),
  lastActivityAt: z.string(),
  expiresAt: z.string(),
  state: z.enum(["started", "stopped", "failed"]),
  failure: z.string().max(1024).optional(),
  /** The sandbox it runs in now (a reset makes a new one). */
  sandboxId: z.string().max(64),
  snapshots: z.array(SnapshotSchema).max(SNAPSHOTS_MAX),
  /** Journal entries since the last reset. */
  commandCount: z.number().int().nonnegative(),
});

export type WorkspaceRecord = z.infer<typeof WorkspaceRecordSchema>;
export type SnapshotRecord = z.infer<typeof SnapshotSchema>;
export type WorkspaceState = WorkspaceRecord["state"];
