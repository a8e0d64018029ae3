/**
 * The manifest of a cached environment copy (`manifest.json` beside `rootfs/`): what was
 * built, from where, and the digest the tree is verified against before use.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { z } from "zod";
import { PyroError } from "../../../sdk/src/errors.js";

const ManifestSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  /** SHA-256 of the rootfs tree (see digest.ts), lowercase hex. */
  rootfsDigest: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().nonnegative(),
  packageCount: z.number().int().nonnegative(),
  /** "name=version", sorted. */
  installedPackages: z.array(z.string()),
  /** When the build finished, RFC 3339. */
  createdAt: z.string().datetime({ offset: true }),
  source: z.literal("build"),
  /** The Debian mirror the packages came from. */
  mirror: z.string(),
  /** The packages the recipe asked for. */
  packages: z.array(z.string()),
});

/** What `manifest.json` holds (camelCase keys in the file too). */
export type Manifest = z.infer<typeof ManifestSchema>;

/** The manifest at `path`; throws `environment_corrupt` when it is missing or not a valid manifest. */
export async function readManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new PyroError("environment_corrupt", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PyroError("environment_corrupt", `${path} is not valid JSON`, { cause: err });
  }
  const result = ManifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PyroError("environment_corrupt", `${path} is not a valid manifest (${issue?.path.join(".") || "root"}: ${issue?.message})`);
  }
  return result.data;
}

/**
 * Writes `manifest` to `path` so that a reader sees the old file or the whole new one,
 * never a torn one, and a crash cannot leave a renamed but empty file behind.
 */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  const tmp = join(dirname(path), `.manifest-${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fh = await open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(JSON.stringify(manifest, null, 2) + "\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

/** Makes a rename inside `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
