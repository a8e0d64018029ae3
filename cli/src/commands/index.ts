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
import { create as workspaceCreate } from "./workspace/create.js";
import { remove as workspaceDelete } from "./workspace/delete.js";
import { diff as workspaceDiff } from "./workspace/diff.js";
import { exec as workspaceExec } from "./workspace/exec.js";
import { exportCommand as workspaceExport } from "./workspace/export.js";
import { list as fileList } from "./workspace/file/list.js";
import { read as fileRead } from "./workspace/file/read.js";
import { write as fileWrite } from "./workspace/file/write.js";
import { list as workspaceList } from "./workspace/list.js";
import { logs as workspaceLogs } from "./workspace/logs.js";
import { apply as patchApply } from "./workspace/patch/apply.js";
import { reset as workspaceReset } from "./workspace/reset.js";
import { create as snapshotCreate } from "./workspace/snapshot/create.js";
import { remove as snapshotDelete } from "./workspace/snapshot/delete.js";
import { list as snapshotList } from "./workspace/snapshot/list.js";
import { start as workspaceStart } from "./workspace/start.js";
import { status as workspaceStatus } from "./workspace/status.js";
import { stop as workspaceStop } from "./workspace/stop.js";
import { push as syncPush } from "./workspace/sync/push.js";
import { update as workspaceUpdate } from "./workspace/update.js";

/** A `pyro …` command line and what it does, for a help text's Examples. */
export type Example = readonly [command: string, what: string];

export interface CommandGroup {
  /** The noun, e.g. "env" (or "file" inside "workspace"). */
  noun: string;
  /** One line, shown in the parent's command list and atop the group's help. */
  describe: string;
  /** At least one, shown by `pyro NOUN --help`. */
  examples: readonly Example[];
  verbs: (AnyCommand | CommandGroup)[];
}

/** Shown by `pyro --help`: a first run, the workspace loop's start, and MCP. */
export const TOP_LEVEL_EXAMPLES: readonly Example[] = [
  ["$0 run debian:12 -- git --version", "run one command in a fresh sandbox"],
  ["$0 workspace create debian:12 --seed-path ./repo --name app", "a persistent workspace holding a copy of ./repo"],
  ["$0 mcp serve", "serve the workspace tools to an MCP client"],
];

const workspace: CommandGroup = {
  noun: "workspace",
  describe: "Persistent workspaces: create, run commands, read and edit files, diff, export, reset",
  examples: [
    ["$0 workspace create debian:12 --seed-path ./repo --name app", "a workspace holding a copy of ./repo (its baseline)"],
    ["$0 workspace exec app -- sh test.sh", "run the tests in /workspace"],
    ["$0 workspace diff app", "what changed since the baseline"],
  ],
  verbs: [
    workspaceCreate,
    workspaceList,
    workspaceStatus,
    workspaceUpdate,
    workspaceLogs,
    workspaceExec,
    {
      noun: "file",
      describe: "List, read and write text files under /workspace",
      examples: [
        ["$0 workspace file list app --recursive", "everything under /workspace"],
        ["$0 workspace file read app src/main.sh", "print a file"],
      ],
      verbs: [fileList, fileRead, fileWrite],
    },
    { noun: "patch", describe: "Apply unified diffs to /workspace", examples: [["$0 workspace patch apply app --patch-file fix.diff", "apply a diff from a host file"]], verbs: [patchApply] },
    { noun: "sync", describe: "Import host files into /workspace", examples: [["$0 workspace sync push app ./vendor --dest vendor", "copy ./vendor to /workspace/vendor"]], verbs: [syncPush] },
    workspaceDiff,
    workspaceExport,
    {
      noun: "snapshot",
      describe: "Named copies of /workspace to reset to",
      examples: [
        ["$0 workspace snapshot create app before-upgrade", "keep a copy of /workspace"],
        ["$0 workspace snapshot list app", "the snapshots to reset to"],
      ],
      verbs: [snapshotCreate, snapshotList, snapshotDelete],
    },
    workspaceReset,
    workspaceStop,
    workspaceStart,
    workspaceDelete,
  ],
};

export const COMMANDS: (AnyCommand | CommandGroup)[] = [
  run,
  workspace,
  {
    noun: "env",
    describe: "List, install, inspect and prune environments",
    examples: [
      ["$0 env list", "the environments and which are installed"],
      ["$0 env pull debian:12", "install one ahead of its first use"],
    ],
    verbs: [list, pull, inspect, prune],
  },
  doctor,
  { noun: "mcp", describe: "Serve pyro to MCP clients", examples: [["$0 mcp serve", "serve the default profile (workspace-core) on stdio"]], verbs: [mcpServe] },
  { noun: "manager", describe: "Run the manager daemon", examples: [["$0 manager serve", "run it in the foreground (clients otherwise start it when needed)"]], verbs: [managerServe] },
];

export function isGroup(c: AnyCommand | CommandGroup): c is CommandGroup {
  return "noun" in c;
}
