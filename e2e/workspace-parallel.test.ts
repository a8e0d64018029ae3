/**
 * Many clients at once on a few workspaces: 20 clients × 50 mixed operations on 5 named,
 * labelled workspaces. Mutations of one workspace run one at a time, so every workspace ends
 * with exactly the lines its clients appended, and nothing leaks between workspaces.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startManager, type TestManager } from "./harness.js";
import { createWorkspace, exec, readFile, workspaceClient } from "./workspace-client.js";

const WORKSPACES = 5;
const CLIENTS = 20;
const OPS = 50;

let m: TestManager;
beforeAll(async () => {
  m = await startManager();
});
afterAll(async () => {
  await m?.stop();
});

describe("parallel clients", () => {
  it(`${CLIENTS} clients × ${OPS} mixed operations on ${WORKSPACES} workspaces, no error`, async () => {
    const admin = workspaceClient(m.socketPath);
    const names = Array.from({ length: WORKSPACES }, (_, i) => `par-${i}`);
    for (const [i, name] of names.entries()) await createWorkspace(admin.client, { environment: "debian:12", name, labels: { index: String(i) } });
    const appended = names.map(() => 0);
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, k) => {
        const { client, close } = workspaceClient(m.socketPath);
        try {
          for (let op = 0; op < OPS; op++) {
            const w = (k + op) % WORKSPACES;
            const name = names[w]!;
            switch (op % 5) {
              case 0:
                await exec(client, name, `echo c${k}-${op} >> log.txt`);
                appended[w]!++;
                break;
              case 1:
                await client.writeWorkspaceFile({ workspace: name, path: `c${k}.txt`, text: `${name} ${k} ${op}\n` });
                break;
              case 2:
                await readFile(client, name, "log.txt").catch((err: unknown) => {
                  if (!String(err).includes("file_not_found")) throw err;
                });
                break;
              case 3:
                await client.listWorkspaceFiles({ workspace: name });
                break;
              default:
                await client.getWorkspace({ workspace: name });
            }
          }
        } finally {
          close();
        }
      }),
    );
    for (const [w, name] of names.entries()) {
      const lines = (await exec(admin.client, name, "wc -l < log.txt; cat c*.txt | cut -d' ' -f1 | sort -u")).stdout.split("\n");
      expect(Number(lines[0])).toBe(appended[w]);
      expect(lines[1]).toBe(name);
      expect((await admin.client.getWorkspaceLogs({ workspace: name })).entries.length).toBe(appended[w]! + 1);
      await admin.client.deleteWorkspace({ workspace: name });
    }
    admin.close();
  });
});
