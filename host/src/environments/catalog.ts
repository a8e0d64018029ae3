/**
 * The catalog of environments pyro knows how to build: curated Debian root filesystems.
 * An entry is a recipe, not a copy; the store decides whether a copy is installed.
 */
import { PyroError } from "../../../sdk/src/errors.js";

/** The Debian release every environment is built from. */
export const DEBIAN_SUITE = "bookworm";

/** One recipe of the catalog. */
export interface CatalogEntry {
  /** Catalog name, e.g. "debian:12". */
  readonly name: string;
  /** Recipe version; bump it whenever the recipe changes, so cached copies are rebuilt. */
  readonly version: string;
  /** One line about what it holds. */
  readonly description: string;
  /** mmdebstrap variant the packages are added to. */
  readonly variant: "minbase";
  /** Debian packages asked for on top of the variant. */
  readonly packages: readonly string[];
}

/** Every environment pyro offers, in the order `pyro env list` shows them. */
export const CATALOG: readonly CatalogEntry[] = Object.freeze([
  {
    name: "debian:12",
    version: "1",
    description: "Debian 12 (bookworm) with bash, coreutils, git and CA certificates",
    variant: "minbase",
    packages: ["bash", "coreutils", "git", "ca-certificates"],
  },
  {
    // minbase already has bash and coreutils; CA certificates make https usable.
    name: "debian:12-base",
    version: "1",
    description: "Minimal Debian 12 (bookworm): a shell and the core tools",
    variant: "minbase",
    packages: ["ca-certificates"],
  },
  {
    name: "debian:12-build",
    version: "1",
    description: "Debian 12 (bookworm) with git and common build tools (build-essential, make, python3, pkg-config, curl)",
    variant: "minbase",
    packages: ["git", "build-essential", "make", "python3", "pkg-config", "curl", "ca-certificates"],
  },
] satisfies CatalogEntry[]);

/** The catalog entry called `name`; throws `environment_not_found` for anything else. */
export function findEntry(name: string): CatalogEntry {
  const entry = CATALOG.find((e) => e.name === name);
  if (!entry) {
    const known = CATALOG.map((e) => e.name).join(", ");
    throw new PyroError("environment_not_found", `unknown environment ${JSON.stringify(name)}`, {
      hint: `choose one of: ${known} (run \`pyro env list\` to see them)`,
    });
  }
  return entry;
}

/** The directory name of an environment in the cache: "debian:12-build" → "debian-12-build". */
export function slugOf(name: string): string {
  return name.replaceAll(":", "-");
}
