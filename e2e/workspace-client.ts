/** A gRPC client of a test manager's WorkspaceService, and small helpers around its streams. */
import { execFileSync } from "node:child_process";
import { createClient, type Client } from "@connectrpc/connect";
import { OutputStream } from "../proto/gen/pyro/common/v1/exec_pb.js";
import { ArchiveCompression, WorkspaceService, type CreateWorkspaceSpec } from "../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateWorkspaceSpecSchema } from "../proto/gen/pyro/manager/v1/workspace_service_pb.js";
import { fromConnectError } from "../sdk/src/errors.js";
import { unixTransport } from "../sdk/src/transport.js";

export type WorkspaceClient = Client<typeof WorkspaceService>;

export function workspaceClient(socketPath: string): { client: WorkspaceClient; close(): void } {
  const t = unixTransport(socketPath);
  return { client: createClient(WorkspaceService, t.transport), close: () => t.close() };
}

/** The stable pyro code a call failed with. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return fromConnectError(err).code;
  }
  return "ok";
}

/** A tar archive of a directory's contents. */
export function tarOf(dir: string): Buffer {
  return execFileSync("tar", ["-C", dir, "-cf", "-", "."]);
}

/** Creates a workspace; the seed (a tar) is sent in chunks after the spec. */
export async function createWorkspace(c: WorkspaceClient, spec: MessageInitShape<typeof CreateWorkspaceSpecSchema>, seed?: Buffer) {
  async function* reqs() {
    yield { part: { case: "spec" as const, value: { ...spec, hasSeed: seed !== undefined, seedCompression: ArchiveCompression.NONE } as CreateWorkspaceSpec } };
    if (seed) for (let i = 0; i < seed.length; i += 65536) yield { part: { case: "seedChunk" as const, value: seed.subarray(i, i + 65536) } };
  }
  for await (const res of c.createWorkspace(reqs())) if (res.event.case === "created") return res.event.value;
  throw new Error("no created event");
}

/** Runs a shell command in a workspace; collects its output and exit. */
export async function exec(c: WorkspaceClient, workspace: string, shellCommand: string, timeoutSeconds = 30) {
  let stdout = "";
  let stderr = "";
  for await (const res of c.execWorkspace({ workspace, shellCommand, timeoutSeconds })) {
    const e = res.event;
    if (e.case === "output") {
      if (e.value.stream === OutputStream.STDERR) stderr += Buffer.from(e.value.data).toString();
      else stdout += Buffer.from(e.value.data).toString();
    } else if (e.case === "exited") return { stdout, stderr, exitCode: e.value.exitCode, sequence: Number(e.value.sequence), timedOut: e.value.timedOut };
  }
  throw new Error("no exit event");
}

export async function readFile(c: WorkspaceClient, workspace: string, path: string, maxBytes = 0) {
  const parts: Uint8Array[] = [];
  for await (const res of c.readWorkspaceFile({ workspace, path, maxBytes: BigInt(maxBytes) })) {
    if (res.part.case === "data") parts.push(res.part.value);
    else if (res.part.case === "done") return { text: Buffer.concat(parts).toString(), truncated: res.part.value.truncated, size: Number(res.part.value.sizeBytes) };
  }
  throw new Error("no done part");
}

/** Applies a patch; returns the preflight results and the outcome (or throws). */
export async function applyPatch(c: WorkspaceClient, workspace: string, patch: string) {
  const preflight = [];
  for await (const res of c.applyWorkspacePatch({ workspace, patch })) {
    if (res.event.case === "preflight") preflight.push(res.event.value);
    else if (res.event.case === "applied") return { preflight, applied: res.event.value };
  }
  throw new Error("no applied event");
}

/** The bytes of an export (a tar). */
export async function exportTar(c: WorkspaceClient, workspace: string, path: string): Promise<{ type: string; tar: Buffer }> {
  let type = "";
  const parts: Uint8Array[] = [];
  for await (const res of c.exportWorkspace({ workspace, path })) {
    if (res.part.case === "started") type = res.part.value.type;
    else if (res.part.case === "chunk") parts.push(res.part.value);
  }
  return { type, tar: Buffer.concat(parts) };
}

/** Pushes a tar under dest. */
export async function pushTar(c: WorkspaceClient, workspace: string, dest: string, tar: Buffer) {
  async function* reqs() {
    yield { part: { case: "spec" as const, value: { workspace, dest, compression: ArchiveCompression.NONE } } };
    for (let i = 0; i < tar.length; i += 65536) yield { part: { case: "chunk" as const, value: tar.subarray(i, i + 65536) } };
  }
  return c.pushWorkspaceArchive(reqs() as never);
}
