/** Tool results: a structured value plus text, or a domain error as an `isError` result carrying its stable code. */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { PyroError } from "../../sdk/src/errors.js";
import { errorJson } from "../../sdk/src/json.js";

export type Log = (line: string) => void;

export function okResult(structured: object, text: string): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured as Record<string, unknown> };
}

/**
 * A failure as the model should see it: `{ error: { code, message, hint } }` as JSON text. Anything that
 * is not a PyroError is a bug: it is logged (stderr) and leaves as `internal`, without its text.
 */
export function errorResult(err: unknown, log: Log): CallToolResult {
  let pe: PyroError;
  if (err instanceof PyroError) pe = err;
  else {
    log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    pe = new PyroError("internal", "internal error in pyro");
  }
  // Only as text: MCP clients check any structuredContent against the tool's output
  // schema, error results included, and an error is not a result of that shape.
  return { isError: true, content: [{ type: "text", text: JSON.stringify(errorJson(pe)) }] };
}
