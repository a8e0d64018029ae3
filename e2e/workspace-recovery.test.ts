/**
 * `kill -9` of the manager mid-work loses no workspace, file or journal entry: the next
 * manager on the same state directory re-adopts the running sandbox, and its next command
 * just works.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { WorkspaceState } from "../proto/gen/pyro/manager/v1/workspace_pb.js";
import { PYRO, pyroEnv, testDir } from "./harness.js";
import { createWorkspace, exec, readFile, workspaceClient } from "./workspace-client.js";

const dir = testDir();
const env = pyroEnv(dir);
const socketPath = env.PYRO_MANAGER_SOCKET!;
type Manager = { pid: number; kill(signal: NodeJS.Signals): Promise<void> };
const started: Manager[] = [];

async function manager(): Promise<Manager> {
  const child = spawn(process.execPath, [PYRO, "manager", "serve", "--socket", socketPath], { env, stdio: "ignore" });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  // A killed manager leaves its socket file: wait until a manager answers on it.
  for (let i = 0; i < 800 && !(await answers()); i++) await sleep(25);
  const m: Manager = {
    pid: child.pid!,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  started.push(m);
  return m;
}

/** True when something accepts connections on the socket. */
function answers(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

afterAll(async () => {
  // Workspaces outlive their manager: delete what is left through the one still running (or a fresh one), then stop every manager started here.
  if (!(await answers())) await manager();
  const { client, close } = workspaceClient(socketPath);
  for (const w of (await client.listWorkspaces({})).workspaces) await client.deleteWorkspace({ workspace: w.workspaceId }).catch(() => {});
  close();
  for (const m of started) await m.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

describe("a manager killed mid-work", () => {
  it("keeps every workspace usable: running ones re-adopted, stopped ones startable, journals whole", async () => {
    const first = await manager();
    let conn = workspaceClient(socketPath);
    const running = await createWorkspace(conn.client, { environment: "debian:12", name: "keeps-running" });
    const stopped = await createWorkspace(conn.client, { environment: "debian:12", name: "stays-stopped" });
    await exec(conn.client, "keeps-running", "echo before > file.txt; sleep 1000 > /dev/null 2>&1 &");
    await conn.client.writeWorkspaceFile({ workspace: "stays-stopped", path: "kept.txt", text: "kept\n" });
    await conn.client.stopWorkspace({ workspace: "stays-stopped" });
    // A command in flight when the manager dies.
    const inflight = exec(conn.client, "keeps-running", "sleep 5").catch(() => "failed");
    await sleep(300);
    await first.kill("SIGKILL");
    expect(await inflight).toBe("failed");
    conn.close();

    await manager();
    conn = workspaceClient(socketPath);
    const list = (await conn.client.listWorkspaces({})).workspaces;
    expect(list.map((w) => w.name).sort()).toEqual(["keeps-running", "stays-stopped"]);
    const again = (await conn.client.getWorkspace({ workspace: "keeps-running" })).workspace!;
    expect(again.state).toBe(WorkspaceState.STARTED);
    expect(again.sandboxId).toBe(running.sandboxId);
    // Same sandbox: the background process from before the kill is still there.
    const after = await exec(conn.client, "keeps-running", "cat file.txt; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done | grep -cx 'sleep 1000 '");
    expect(after.stdout).toMatch(/^before\n[1-9]\d*\n$/);
    const logs = await conn.client.getWorkspaceLogs({ workspace: "keeps-running" });
    expect(logs.entries.map((e) => Number(e.sequence))).toEqual([1, after.sequence]);
    expect(after.sequence).toBeGreaterThan(1);
    expect((await conn.client.getWorkspace({ workspace: stopped.workspaceId })).workspace?.state).toBe(WorkspaceState.STOPPED);
    await conn.client.startWorkspace({ workspace: "stays-stopped" });
    expect((await readFile(conn.client, "stays-stopped", "kept.txt")).text).toBe("kept\n");
    conn.close();
  });
});
