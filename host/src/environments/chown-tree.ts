/**
 * Handing a built root filesystem to the sandbox uid. Sandboxes run as an unprivileged
 * host uid that is root inside their user namespace, so the tree must belong to that uid
 * for root inside to own its files.
 */
import { chmod, lchown, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** A host uid/gid pair. */
export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Changes the owner of `root` and everything below it to `owner`. Symlinks are changed
 * themselves and never followed: a rootfs holds absolute links such as /etc/mtab that
 * would otherwise name host files. chown clears setuid/setgid bits, so they are put back.
 */
export async function chownTree(root: string, owner: Owner): Promise<void> {
  const stat = await lstat(root);
  await lchown(root, owner.uid, owner.gid);
  if (!stat.isSymbolicLink() && stat.mode & 0o6000) await chmod(root, stat.mode & 0o7777);
  if (!stat.isDirectory()) return;
  const names = await readdir(root);
  // libuv's thread pool bounds how many of these run at once; queued calls cost little.
  await Promise.all(names.map((name) => chownTree(join(root, name), owner)));
}
