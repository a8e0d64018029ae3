import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { SystemService } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { pingFlood, settingsFlood } from "../../e2e/fixtures/http2-frames.js";
import { hostilePeer, watchUncaught } from "../../e2e/fixtures/hostile-peer.js";
import { unixTransport } from "./transport.js";

const dir = mkdtempSync(join(tmpdir(), "pyro-transport-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("unixTransport against a hostile peer", () => {
  it.each([
    ["PING", pingFlood],
    ["SETTINGS", settingsFlood],
  ])("a %s flood fails the call, and closing afterwards never throws out of the process", async (_name, flood) => {
    const sock = join(dir, `flood-${_name}.sock`);
    const peer = await hostilePeer(sock, (s) => s.write(flood(100_000)));
    const uncaught = watchUncaught();
    const conn = unixTransport(sock);
    try {
      await expect(createClient(SystemService, conn.transport).getVersion({})).rejects.toThrow();
      // Closing a session that failed but has not yet emitted its 'error' is what used to crash.
      conn.close();
      await sleep(200);
      expect(uncaught.errors).toEqual([]);
    } finally {
      uncaught.stop();
      conn.close();
      await peer.close();
    }
  });
});
