/**
 * WorkspaceService in-process, through Connect's router transport, over the real Workspaces,
 * store, journal and patch engine. The "sandbox" is the guest agent's own services served
 * in-process on a temporary directory (no isolation: commands run on this host), so what is
 * tested here is the manager's side: names, queues, recovery, the reaper, patch undo.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { FileService } from "../../../proto/gen/pyro/guest/v1/file_service_pb.js";
import { ProcessService } from "../../../proto/gen/pyro/guest/v1/process_service_pb.js";
import { WorkspaceService } from "../../../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { WorkspaceState } from "../../../proto/gen/pyro/manager/v1/workspace_pb.js";
import { fromConnectError } from "../../../sdk/src/errors.js";
import { BASE_ENV } from "../../../guest/src/exec.js";
import { agentRoutes } from "../../../guest/src/server.js";
import { ProcessTable } from "../../../guest/src/process/process-table.js";
import type { Backend, Sandbox } from "../backends/backend.js";
import { GuestFiles } from "../files/guest-files.js";
import { silentLogger } from "../logger.js";
import { fakeSandbox } from "../testing.js";
import { PatchApplier } from "../workspaces/workspace-patch.js";
import { WorkspaceFiles } from "../workspaces/workspace-files.js";
import { WorkspaceStore } from "../workspaces/workspace-store.js";
import { Workspaces } from "../workspaces/workspaces.js";
import { workspaceService } from "./workspace-service.js";

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A sandbox whose agent is the guest's own services on a temporary directory; `failWrites` makes the nth WriteFile fail. */
function localSandbox(id: string, opts: { failWrite?: number } = {}): Sandbox & { dir: string } {
  const dir = tmp("pyro-ws-sandbox-");
  let writes = 0;
  const failing: Interceptor = (next) => async (req) => {
    if (req.method.name === "WriteFile" && ++writes === opts.failWrite) throw new ConnectError("disk on fire", Code.Internal);
    return next(req);
  };
  const transport = createRouterTransport(agentRoutes(new ProcessTable({ workspaceDir: dir, baseEnv: BASE_ENV })), { transport: { interceptors: [failing] } });
  let state: "running" | "stopped" | "gone" = "running";
  const s = fakeSandbox({
    id,
    backend: "host",
    agent: createClient(AgentService, transport),
    files: createClient(FileService, transport),
    processes: createClient(ProcessService, transport),
    alive: () => state === "running",
    state: () => state,
    stop: async () => void (state = "stopped"),
    start: async () => void (state = "running"),
    destroy: async () => void (state = "gone"),
  });
  return Object.assign(s, { dir });
}

function setup(o: { now?: () => Date; failWrite?: number } = {}) {
  const stateDir = tmp("pyro-ws-state-");
  const made: (Sandbox & { dir: string })[] = [];
  let n = 0;
  const store = new WorkspaceStore({ stateDir, log: silentLogger });
  const workspaces = new Workspaces({
    store,
    sandboxes: {
      backend: async () => ({ name: "host" }) as Backend,
      create: async () => {
        const s = localSandbox(`sb-${String(++n).padStart(10, "0")}`, { failWrite: o.failWrite });
        made.push(s);
        return s;
      },
    },
    files: (s) => new GuestFiles(s.files, { sandbox: s.id, log: silentLogger }),
    log: silentLogger,
    now: o.now,
  });
  const service = workspaceService({ workspaces, files: new WorkspaceFiles(workspaces), patches: new PatchApplier({ workspaces, log: silentLogger }), log: silentLogger });
  const client = createClient(WorkspaceService, createRouterTransport((r) => r.service(WorkspaceService, service)));
  return { client, workspaces, made, stateDir };
}

async function create(client: ReturnType<typeof setup>["client"], spec: { name?: string; ttlSeconds?: number } = {}) {
  async function* reqs() {
    yield { part: { case: "spec" as const, value: { environment: "debian:12", ...spec } } };
  }
  for await (const r of client.createWorkspace(reqs() as never)) if (r.event.case === "created") return r.event.value;
  throw new Error("no created event");
}

const codeOf = (p: Promise<unknown>) => p.then(() => "ok", (err: unknown) => fromConnectError(err).code);

describe("WorkspaceService in-process", () => {
  it("gives a name to one of two creations racing for it", async () => {
    const { client } = setup();
    const results = await Promise.all([codeOf(create(client, { name: "same" })), codeOf(create(client, { name: "same" }))]);
    expect(results.sort()).toEqual(["ok", "workspace_name_taken"]);
    expect((await client.listWorkspaces({})).workspaces.map((w) => w.name)).toEqual(["same"]);
  });

  it("undoes a patch whose write fails midway: every file as before, the added one gone", async () => {
    const { client, made } = setup({ failWrite: 2 });
    const ws = await create(client);
    const dir = made[0]!.dir;
    writeFileSync(join(dir, "a.txt"), "one\n");
    writeFileSync(join(dir, "b.txt"), "two\n");
    const patch = [
      "--- a/a.txt", "+++ b/a.txt", "@@ -1 +1 @@", "-one", "+ONE",
      "--- a/b.txt", "+++ b/b.txt", "@@ -1 +1 @@", "-two", "+TWO",
      "",
    ].join("\n");
    const code = await codeOf((async () => {
      for await (const _ of client.applyWorkspacePatch({ workspace: ws.workspaceId, patch }));
    })());
    expect(code).toBe("sandbox_failed");
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("one\n");
    expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("two\n");
  });

  it("refuses a patch that would make a file under a file, before writing anything", async () => {
    const { client, made } = setup();
    const ws = await create(client);
    const dir = made[0]!.dir;
    writeFileSync(join(dir, "a.txt"), "one\n");
    writeFileSync(join(dir, "plain"), "a file\n");
    const patch = [
      "--- a/a.txt", "+++ b/a.txt", "@@ -1 +1 @@", "-one", "+ONE",
      "--- /dev/null", "+++ b/plain/inside.txt", "@@ -0,0 +1 @@", "+x",
      "",
    ].join("\n");
    const results: string[] = [];
    const code = await codeOf((async () => {
      for await (const r of client.applyWorkspacePatch({ workspace: ws.workspaceId, patch })) if (r.event.case === "preflight") results.push(`${r.event.value.path}:${r.event.value.status}`);
    })());
    expect(code).not.toBe("ok");
    expect(results).toContain("plain/inside.txt:3"); // PATCH_FILE_STATUS_ERROR
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("one\n");
    expect(readFileSync(join(dir, "plain"), "utf8")).toBe("a file\n");
  });

  it("reaps expired workspaces, and only those", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const { client, workspaces } = setup({ now: () => now });
    const short = await create(client, { ttlSeconds: 60 });
    const long = await create(client, { ttlSeconds: 3600 });
    now = new Date("2026-01-01T00:02:00Z");
    expect((await client.reapExpiredWorkspaces({})).workspaceIds).toEqual([short.workspaceId]);
    expect((await client.listWorkspaces({})).workspaces.map((w) => w.workspaceId)).toEqual([long.workspaceId]);
    expect(await workspaces.reapExpired()).toEqual([]);
  });

  it("after a restart: a workspace whose sandbox is gone is failed, with its reason; one re-adopted runs on", async () => {
    const first = setup();
    const kept = await create(first.client, { name: "kept" });
    const lost = await create(first.client, { name: "lost" });
    const second = new Workspaces({
      store: new WorkspaceStore({ stateDir: first.stateDir, log: silentLogger }),
      sandboxes: { backend: async () => ({ name: "host" }) as Backend, create: async () => localSandbox("sb-9999999999") },
      files: (s) => new GuestFiles(s.files, { sandbox: s.id, log: silentLogger }),
      log: silentLogger,
    });
    const byId = new Map(first.made.map((s) => [s.id, s]));
    await second.recover(async (id) => (id === kept.sandboxId ? byId.get(id) : undefined));
    expect(second.view("kept").state).toBe("started");
    expect(second.view("lost")).toMatchObject({ state: "failed", failure: expect.stringContaining("not running") });
    expect(lost.state).toBe(WorkspaceState.STARTED);
    await expect(second.start("lost", new AbortController().signal)).rejects.toMatchObject({ code: "workspace_not_running" });
    const reset = await second.reset("lost", "", new AbortController().signal);
    expect(reset.state).toBe("started");
  });
});
