/** The Debian packages installed in a root filesystem, read with the host's dpkg-query. */
import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/**
 * Installed packages of `rootfs` as "name=version", sorted; [] when the tree has no dpkg
 * database (e.g. a test builder's tiny tree).
 */
export async function installedPackages(rootfs: string): Promise<string[]> {
  const admindir = join(rootfs, "var/lib/dpkg");
  try {
    await access(join(admindir, "status"));
  } catch {
    return [];
  }
  const { stdout } = await execFileP(
    "dpkg-query",
    [`--admindir=${admindir}`, "-W", "-f", "${db:Status-Status}\t${Package}=${Version}\n"],
    { maxBuffer: 16 << 20, env: { ...process.env, LC_ALL: "C" } },
  );
  return stdout
    .split("\n")
    .map((line) => line.split("\t"))
    // Packages that were removed but left their configuration behind are not installed.
    .filter(([status, pkg]) => status === "installed" && pkg)
    .map(([, pkg]) => pkg!)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
