/** Parameters and wording the workspace entries of the table share. */
import { MODEL_OUTPUT_BOUND, SNAPSHOT_NAME_PATTERN } from "../contract/limits.js";
import type { ParamSpec } from "./spec.js";

/** Said in every tool that touches files, so a model knows where it is. */
export const IN_WORKSPACE = "Paths are inside the workspace: the working directory is /workspace and relative paths start there; nothing outside /workspace can be reached.";

/** The loop the workspace tools serve, for their descriptions. */
export const LOOP = "The loop: workspace_create → workspace_file_list / workspace_file_read → workspace_patch_apply (or workspace_file_write) → workspace_exec → workspace_diff → workspace_export; workspace_reset starts over from the baseline.";

export const WORKSPACE_ID = {
  name: "workspace_id",
  kind: "string",
  required: true,
  cli: "positional",
  maxLength: 256,
  description: "The workspace: its id (as workspace_create returned it) or its name.",
} as const satisfies ParamSpec;

/** How much of each output a model gets back (MCP only: the CLI prints everything). */
export const MAX_OUTPUT_BYTES = {
  name: "max_output_bytes",
  kind: "integer",
  default: MODEL_OUTPUT_BOUND.default,
  min: MODEL_OUTPUT_BOUND.min,
  max: MODEL_OUTPUT_BOUND.max,
  cli: "none",
  description: "Most bytes of each output returned to you; longer output keeps its head and tail and says how much was left out.",
} as const satisfies ParamSpec;

export const SNAPSHOT_NAME = {
  name: "snapshot_name",
  kind: "string",
  required: true,
  cli: "positional",
  pattern: SNAPSHOT_NAME_PATTERN,
  description: "The snapshot's name: letters, digits, '.', '_' and '-', at most 64.",
} as const satisfies ParamSpec;

/** Annotations of an operation that only reads. */
export const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
