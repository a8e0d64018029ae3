/** The backends a sandbox can run on: names every surface accepts and the manager implements. */

export type BackendName = "namespace" | "host" | "firecracker";

/** In the order `pyro doctor` lists them. */
export const BACKEND_NAMES: readonly BackendName[] = ["namespace", "host", "firecracker"];
