/** Every CLI command, in the order help lists them: top-level verbs and noun groups. */
import type { AnyCommand } from "../context.js";
import { doctor } from "./doctor.js";
import { inspect } from "./env/inspect.js";
import { list } from "./env/list.js";
import { prune } from "./env/prune.js";
import { pull } from "./env/pull.js";
import { serve as managerServe } from "./manager/serve.js";
import { serve as mcpServe } from "./mcp/serve.js";
import { run } from "./run.js";

export interface CommandGroup {
  /** The noun, e.g. "env". */
  noun: string;
  describe: string;
  verbs: AnyCommand[];
}

export const COMMANDS: (AnyCommand | CommandGroup)[] = [
  run,
  { noun: "env", describe: "List, install, inspect and prune environments", verbs: [list, pull, inspect, prune] },
  doctor,
  { noun: "mcp", describe: "Serve pyro to MCP clients", verbs: [mcpServe] },
  { noun: "manager", describe: "Run the manager daemon", verbs: [managerServe] },
];

export function isGroup(c: AnyCommand | CommandGroup): c is CommandGroup {
  return "noun" in c;
}
