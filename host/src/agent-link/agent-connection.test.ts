import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { AgentService } from "../../../proto/gen/pyro/guest/v1/agent_service_pb.js";
import { serveAgent } from "../../../guest/src/server.js";
import { BASE_ENV } from "../../../guest/src/exec.js";
import { FRAME, frame, pingFlood, randomBytesFrom, prng, seededMix, settingsFlood } from "../../../e2e/fixtures/http2-frames.js";
import { hostilePeer, watchUncaught } from "../../../e2e/fixtures/hostile-peer.js";
import { AgentConnection } from "./agent-connection.js";
import { dialUnixSocket } from "./agent-dialer.js";

const dir = mkdtempSync(join(tmpdir(), "pyro-agent-connection-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("AgentConnection dials again", () => {
  it("after its agent restarted behind the same socket path, with no help from the caller", async () => {
    const sock = join(dir, "a.sock");
    const first = await serveAgent({ socketPath: sock }, { workspaceDir: dir, baseEnv: BASE_ENV });
    const sessions: { destroy(): void }[] = [];
    first.on("session", (s) => sessions.push(s));
    const failures: Error[] = [];
    const conn = new AgentConnection(dialUnixSocket(sock), { onFailure: (e) => failures.push(e) });
    const agent = createClient(AgentService, conn.transport);
    await agent.getInfo({});
    // The agent goes (its connection with it) and a new one serves at the path.
    first.close();
    for (const s of sessions) s.destroy();
    await sleep(50);
    expect(conn.failure).toBeDefined();
    const second = await serveAgent({ socketPath: sock }, { workspaceDir: dir, baseEnv: BASE_ENV });
    let dialled = 0;
    second.on("connection", () => dialled++);
    try {
      await agent.getInfo({});
      expect(dialled).toBe(1);
      expect(conn.failure).toBeUndefined();
      expect(failures).toHaveLength(1);
    } finally {
      conn.close();
      second.close();
    }
  });

  it("never once closed: later calls fail at once, without dialling", async () => {
    const sock = join(dir, "closed.sock");
    const server = await serveAgent({ socketPath: sock }, { workspaceDir: dir, baseEnv: BASE_ENV });
    let dialled = 0;
    server.on("connection", () => dialled++);
    const conn = new AgentConnection(dialUnixSocket(sock));
    const agent = createClient(AgentService, conn.transport);
    await agent.getInfo({});
    conn.close();
    await expect(agent.getInfo({})).rejects.toThrow(/closed/);
    expect(dialled).toBe(1);
    server.close();
  });

  it("through whatever dialer it is given, and reports a dial that fails as the call's failure", async () => {
    let dials = 0;
    const conn = new AgentConnection(async () => {
      dials++;
      throw new Error("no agent here");
    });
    const agent = createClient(AgentService, conn.transport);
    await expect(agent.getInfo({})).rejects.toThrow(/no agent here/);
    await expect(agent.getInfo({})).rejects.toThrow(/no agent here/);
    expect(dials).toBe(2);
    conn.close();
  });

  it("refuses a path that is not a socket (e.g. a symlink planted by a guest)", async () => {
    const real = join(dir, "b.sock");
    const server = await serveAgent({ socketPath: real }, { workspaceDir: dir, baseEnv: BASE_ENV });
    const link = join(dir, "link.sock");
    symlinkSync(real, link);
    const conn = new AgentConnection(dialUnixSocket(link));
    await expect(createClient(AgentService, conn.transport).getInfo({})).rejects.toThrow(/not a socket/);
    conn.close();
    server.close();
  });
});

describe("AgentConnection against a hostile agent", () => {
  const quick = { keepaliveMs: 200, pingTimeoutMs: 300 };
  const cases: [string, (s: Socket) => void][] = [
    ["a PING flood", (s) => s.write(pingFlood(100_000))],
    ["a SETTINGS flood", (s) => s.write(settingsFlood(100_000))],
    ["random bytes", (s) => s.write(randomBytesFrom(prng(7), 64 << 10))],
    ["a frame over the size limit", (s) => s.write(frame(FRAME.DATA, 0, 1, Buffer.alloc(70_000)))],
    ["a GOAWAY", (s) => s.write(frame(FRAME.GOAWAY, 0, 0, Buffer.alloc(8)))],
    ["a close with the call open", (s) => setTimeout(() => s.destroy(), 20)],
    ["a seeded mix of frames and bytes (seed 1)", (s) => s.write(Buffer.concat(seededMix(1, 50)))],
    ["a seeded mix of frames and bytes (seed 2)", (s) => s.write(Buffer.concat(seededMix(2, 50)))],
  ];

  it.each(cases)("%s fails the call; a later call dials again and fails alone; nothing reaches the process", async (name, act) => {
    const sock = join(dir, `hostile-${name.replace(/\W+/g, "-")}.sock`);
    const peer = await hostilePeer(sock, act);
    const uncaught = watchUncaught();
    const failures: Error[] = [];
    const conn = new AgentConnection(dialUnixSocket(sock), { ...quick, onFailure: (e) => failures.push(e) });
    const agent = createClient(AgentService, conn.transport);
    try {
      const call = async () => {
        for await (const _ of agent.exec({ argv: ["true"] }));
      };
      await expect(call()).rejects.toThrow();
      expect(conn.failure).toBeDefined();
      expect(failures).toHaveLength(1);
      // A later call gets a connection of its own, which the peer fails in turn.
      await expect(agent.getInfo({})).rejects.toThrow();
      expect(peer.connections).toBe(2);
      expect(failures).toHaveLength(2);
      conn.close();
      await sleep(100);
      expect(uncaught.errors).toEqual([]);
    } finally {
      uncaught.stop();
      conn.close();
      await peer.close();
    }
  });

  it("keeps a quiet call to an honest agent open (its PINGs are answered)", async () => {
    const sock = join(dir, "honest.sock");
    const server = await serveAgent({ socketPath: sock }, { workspaceDir: dir, baseEnv: BASE_ENV });
    const conn = new AgentConnection(dialUnixSocket(sock), quick);
    try {
      const events = [];
      for await (const e of createClient(AgentService, conn.transport).exec({ argv: ["sleep", "1"] })) events.push(e.event.case);
      expect(events).toEqual(["started", "exited"]);
      expect(conn.failure).toBeUndefined();
    } finally {
      conn.close();
      server.close();
    }
  });
});
