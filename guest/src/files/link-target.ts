/**
 * Whether a symlink stays inside its tree, judged from its target alone (the target may not
 * exist yet while an archive is unpacked). Leading `..` may climb at most as high as the
 * link's own directory lies below the tree's root; a `..` after a name is refused, because a
 * name may itself be a symlink that the kernel would follow before climbing (`a/l/../x`
 * stays inside on paper and leaves it when `l` points at `..`).
 */

/** `target`, written in a symlink `depth` directories below the root, stays below the root. */
export function relativeLinkStaysInside(target: string, depth: number): boolean {
  if (target === "" || target.startsWith("/") || target.includes("\0")) return false;
  let level = depth;
  let named = false;
  for (const c of target.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (named || --level < 0) return false;
    } else {
      named = true;
    }
  }
  return true;
}
