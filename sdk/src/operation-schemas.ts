/**
 * zod input schemas derived mechanically from the operations table, per MCP profile: the
 * same bounds, defaults, choices and patterns the CLI checks, and no argument the table does
 * not name (`strict`). Only the MCP server loads this module (zod costs start-up time the
 * CLI's run path does not pay).
 */
import { z } from "zod";
import { offeredIn, type AnyOperation, type McpProfileName, type ParamSpec } from "./operations/spec.js";

function stringSchema(p: ParamSpec): z.ZodTypeAny {
  if (p.choices) return z.enum(p.choices as [string, ...string[]]);
  let s = z.string();
  if (p.required) s = s.min(1);
  if (p.maxLength !== undefined) s = s.max(p.maxLength);
  if (p.pattern !== undefined) s = s.regex(new RegExp(p.pattern));
  return s;
}

function paramSchema(p: ParamSpec): z.ZodTypeAny {
  let s: z.ZodTypeAny;
  switch (p.kind) {
    case "integer": {
      let n = z.number().int();
      if (p.min !== undefined) n = n.min(p.min);
      if (p.max !== undefined) n = n.max(p.max);
      s = n;
      break;
    }
    case "boolean":
      s = z.boolean();
      break;
    case "string_list":
      s = z.array(stringSchema({ ...p, required: true }));
      break;
    case "string_map":
      s = z.record(z.string().min(1), z.string());
      break;
    default:
      s = stringSchema(p);
  }
  if (p.default !== undefined) s = s.default(p.default);
  else if (!p.required) s = s.optional();
  return s.describe(p.description);
}

/** The zod input shape of an operation as `profile` offers it. */
export function inputShape(op: AnyOperation, profile: McpProfileName = "workspace-full"): z.ZodRawShape {
  return Object.fromEntries(op.params.filter((p) => offeredIn(p, profile)).map((p) => [p.name, paramSchema(p)]));
}

/** The MCP `inputSchema` of an operation as `profile` offers it: unknown arguments are refused. */
export function inputSchema(op: AnyOperation, profile: McpProfileName = "workspace-full") {
  return z.object(inputShape(op, profile)).strict();
}
