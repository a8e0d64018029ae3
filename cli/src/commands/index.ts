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

export interface CommandGroup {
  /** The noun, e.g. "env" (or "file" inside "workspace"). */
  noun: string;
  describe: string;
  verbs: (AnyCommand | CommandGroup)[];
}

const workspace: CommandGroup = {
  noun: "workspace",
  describe: "Persistent workspaces: create, run commands, read and edit files, diff, export, reset",
  verbs: [
    workspaceCreate,
    workspaceList,
    workspaceStatus,
    workspaceUpdate,
    workspaceLogs,
    workspaceExec,
    { noun: "file", describe: "List, read and write text files under /workspace", verbs: [fileList, fileRead, fileWrite] },
    { noun: "patch", describe: "Apply unified diffs to /workspace", verbs: [patchApply] },
    { noun: "sync", describe: "Import host files into /workspace", verbs: [syncPush] },
    workspaceDiff,
    workspaceExport,
    { noun: "snapshot", describe: "Named copies of /workspace to reset to", verbs: [snapshotCreate, snapshotList, snapshotDelete] },
    workspaceReset,
    workspaceStop,
    workspaceStart,
    workspaceDelete,
  ],
};

export const COMMANDS: (AnyCommand | CommandGroup)[] = [
  run,
  workspace,
  { noun: "env", describe: "List, install, inspect and prune environments", verbs: [list, pull, inspect, prune] },
  doctor,
  { noun: "mcp", describe: "Serve pyro to MCP clients", verbs: [mcpServe] },
  { noun: "manager", describe: "Run the manager daemon", verbs: [managerServe] },
];

export function isGroup(c: AnyCommand | CommandGroup): c is CommandGroup {
  return "noun" in c;
}
