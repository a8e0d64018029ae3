/** Helpers for the manager's unit tests. */
import { spawn } from "node:child_process";
import { identify, type ProcessIdentity } from "./process-identity.js";

/** The identity of a process that has exited: what a lease or record of a sandbox that died names. */
export async function deadProcess(): Promise<ProcessIdentity> {
  const child = spawn("sleep", ["60"]);
  const id = (await identify(child.pid!))!;
  await new Promise((r) => {
    child.once("exit", r);
    child.kill("SIGKILL");
  });
  return id;
}
