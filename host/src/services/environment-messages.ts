/** Converts the environment store's plain objects into pyro.manager.v1 messages. */
import { create } from "@bufbuild/protobuf";
import { EnvironmentSchema, type Environment } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import type { CatalogEntry } from "../environments/catalog.js";
import type { InstalledEnvironment } from "../environments/store.js";

export function environmentMessage(entry: CatalogEntry, installed: InstalledEnvironment | undefined): Environment {
  const m = installed?.manifest;
  return create(EnvironmentSchema, {
    name: entry.name,
    version: entry.version,
    description: entry.description,
    installed: installed !== undefined,
    packages: [...entry.packages],
    manifest: m && {
      path: installed!.dir,
      rootfsDigest: m.rootfsDigest,
      sizeBytes: BigInt(m.sizeBytes),
      packageCount: m.packageCount,
      createdAt: m.createdAt,
      source: m.source,
      mirror: m.mirror,
      installedPackages: m.installedPackages,
    },
  });
}
