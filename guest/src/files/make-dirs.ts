/** Creating missing directories one component at a time, never through a symlink. */
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { echoInput } from "../../../sdk/src/echo.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { fsError } from "./fs-error.js";

/**
 * Makes `names` one after another below the real directory `base`. mkdir never follows a
 * symlink at its last component; one that appears there (EEXIST) must be a real directory.
 * `shown` names the caller's path in errors.
 */
export async function makeDirs(base: string, names: string[], shown: string, mode = 0o755): Promise<number> {
  let dir = base;
  let made = 0;
  for (const name of names) {
    dir = join(dir, name);
    try {
      await mkdir(dir, { mode });
      made++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(err, shown);
      const st = await lstat(dir);
      if (st.isSymbolicLink()) throw new PyroError("path_outside_workspace", `${echoInput(shown)} would be written through a symlink that appeared while it was written`);
      if (!st.isDirectory()) throw new PyroError("invalid_argument", `${echoInput(shown)}: a parent is not a directory`);
    }
  }
  return made;
}
