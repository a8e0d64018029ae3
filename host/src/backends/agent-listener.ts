/**
 * The agent's listening socket, bound by the manager in a directory only the manager can
 * write and handed to the agent as an inherited fd. The path can then be dialled again at
 * any time: the sandbox can neither replace it nor make it point elsewhere.
 */
import { chmod, rename } from "node:fs/promises";
import { createServer } from "node:net";

export interface AgentListener {
  /** The listening socket's fd, to place in the sandbox's stdio. */
  fd: number;
  /** Closes the manager's copy; the sandbox's stays listening at the path. */
  release(): void;
}

/** Binds a listening Unix socket at `socketPath` (owner-only) for an agent to serve on. */
export async function bindAgentListener(socketPath: string): Promise<AgentListener> {
  // Closing a Node server unlinks the path it bound, so it binds a staging name and the
  // socket is renamed into place: the later close unlinks a name that is no longer there.
  const staging = `${socketPath}.${process.pid}.staging`;
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(staging, () => ok());
  });
  try {
    await chmod(staging, 0o600);
    await rename(staging, socketPath);
    const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== "number" || fd < 0) throw new Error("the agent's listening socket has no fd");
    return { fd, release: () => server.close() };
  } catch (err) {
    server.close();
    throw err;
  }
}
