import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { AgentService } from "../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { serveAgent } from "../../guest/src/server.js";
import { BASE_ENV } from "../../guest/src/exec.js";
import { unixTransport } from "./transport.js";

const dir = mkdtempSync(join(tmpdir(), "pyro-transport-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("unixTransport connectOnce (agent sockets)", () => {
  it("connects once and never reconnects to whatever the path is later", async () => {
    const sock = join(dir, "a.sock");
    const call = async (connectOnce: boolean) => {
      const first = await serveAgent({ socketPath: sock }, { workspaceDir: dir, baseEnv: BASE_ENV });
      const sessions: { destroy(): void }[] = [];
      first.on("session", (s) => sessions.push(s));
      const conn = unixTransport(sock, { connectOnce });
      const agent = createClient(AgentService, conn.transport);
      await agent.getInfo({});
      // The first listener and its connection go; something else now listens at the path.
      first.close();
      for (const s of sessions) s.destroy();
      const second = await serveAgent({ socketPath: sock }, { workspaceDir: dir, baseEnv: BASE_ENV });
      try {
        return await agent.getInfo({}).then(() => "answered", () => "refused");
      } finally {
        conn.close();
        second.close();
      }
    };
    expect(await call(false)).toBe("answered"); // an ordinary transport reconnects
    expect(await call(true)).toBe("refused");
  });

  it("refuses a path that is not a socket (e.g. a symlink planted by a guest)", async () => {
    const real = join(dir, "b.sock");
    const server = await serveAgent({ socketPath: real }, { workspaceDir: dir, baseEnv: BASE_ENV });
    const link = join(dir, "link.sock");
    symlinkSync(real, link);
    const conn = unixTransport(link, { connectOnce: true });
    await expect(createClient(AgentService, conn.transport).getInfo({})).rejects.toThrow(/not a socket/);
    conn.close();
    server.close();
  });
});
