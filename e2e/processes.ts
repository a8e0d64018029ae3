/** Test helpers about host processes. */
import { readFileSync } from "node:fs";

/**
 * True once `pid` has exited: gone, or a zombie its new parent has not reaped yet (a
 * killed process stays visible to kill(pid, 0) until then). Waits up to about 2 s.
 */
export async function exitedOrZombie(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      if (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z")) return true;
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
