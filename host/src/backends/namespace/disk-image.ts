/**
 * The sandbox's bounded writable filesystem: a sparse ext4 image of `disk_mib`, mounted
 * (through a loop device) only inside the sandbox's own mount namespace, where it holds
 * the overlay's writable layer and /workspace. Writes past its size fail with ENOSPC in
 * the sandbox instead of filling the host's disk; the image costs only what is written.
 * Mounting needs root, so only a root manager enforces it.
 */
import { execFile } from "node:child_process";
import { chown, mkdir, open, readdir, readFile, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Creates the image file (owner-only) and formats it with the sandbox's empty writable
 * layer in it: `upper/` (holding `workspace/`) and `work/`, given to `owner`. The image's
 * root stays root's, so the layer's own directories cannot be swapped by the sandbox.
 */
export async function makeDiskImage(path: string, mib: number, owner: { uid: number; gid: number }): Promise<void> {
  const file = await open(path, "wx", 0o600);
  try {
    await file.truncate(mib * 1024 * 1024);
  } finally {
    await file.close();
  }
  const template = `${path}.template`;
  try {
    await mkdir(template, { mode: 0o755 });
    for (const d of ["upper", "upper/workspace", "work"]) {
      await mkdir(join(template, d), { mode: 0o755 });
      await chown(join(template, d), owner.uid, owner.gid);
    }
    // No reserved blocks (the sandbox is the only user); inode tables and journal are left
    // unzeroed, which is safe on a fresh sparse file and keeps this at a few milliseconds.
    await run("mkfs.ext4", ["-q", "-F", "-m", "0", "-d", template, "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", path], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
  } finally {
    await rm(template, { recursive: true, force: true });
  }
}

/** Mount options: never zero inode tables in the background (the image is sparse: they already read as zero). */
export const DISK_MOUNT_OPTIONS = "loop,nosuid,nodev,noatime,noinit_itable";

/** Whether this host can give sandboxes a bounded disk, or why not. */
export async function probeDisk(): Promise<{ available: true; detail: string } | { available: false; reason: string }> {
  if (process.getuid?.() !== 0) return { available: false, reason: "mounting a filesystem image needs a manager running as root" };
  const mkfs = await run("mkfs.ext4", ["-V"], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } }).then(
    (r) => (r.stderr || r.stdout).split("\n")[0]!.trim(),
    () => "",
  );
  if (!mkfs) return { available: false, reason: "mkfs.ext4 is not installed (apt-get install -y e2fsprogs)" };
  const loop = await open("/dev/loop-control", "r").then(
    async (f) => (await f.close(), true),
    () => false,
  );
  if (!loop) return { available: false, reason: "this host has no loop devices (/dev/loop-control)" };
  return { available: true, detail: `ext4 image per sandbox (${mkfs})` };
}

/** Loop devices whose backing file is `image` (the kernel's own list, in /sys/block). */
export async function loopDevicesOf(image: string): Promise<string[]> {
  const real = await realpath(image).catch(() => image);
  const found: string[] = [];
  for (const name of await readdir("/sys/block").catch(() => [] as string[])) {
    if (!name.startsWith("loop")) continue;
    const backing = await readFile(join("/sys/block", name, "loop", "backing_file"), "utf8").catch(() => "");
    if (backing.trim() === real) found.push(`/dev/${name}`);
  }
  return found;
}

/**
 * Waits until no loop device is backed by `image`: a stopped sandbox's filesystem is
 * unmounted when the last process of its mount namespace is gone, and the loop device goes
 * after it, a moment later. Mounting the image again before then would mount one ext4
 * filesystem twice. Returns false when it is still attached after `timeoutMs`.
 */
export async function waitLoopDetached(image: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await loopDevicesOf(image)).length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
