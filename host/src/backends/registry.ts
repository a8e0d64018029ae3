/**
 * Picks the backend for a request: the one asked for (flag / PYRO_BACKEND), or the
 * first available isolating backend. Never falls back to less isolation silently: `host`
 * is used only when named and allowed with --allow-host-compat.
 */
import { PyroError } from "../../../sdk/src/errors.js";
import type { Backend, BackendName, Probe } from "./backend.js";
import { BACKEND_NAMES } from "./backend.js";

/** Automatic choice, strongest isolation first. */
const AUTOMATIC_ORDER: readonly BackendName[] = ["firecracker", "namespace"];
const PROBE_TTL_MS = 60_000;

export class BackendRegistry {
  private readonly byName = new Map<BackendName, Backend>();
  private readonly probes = new Map<BackendName, { at: number; probe: Promise<Probe> }>();
  private readonly refreshing = new Set<BackendName>();

  constructor(backends: Backend[]) {
    for (const b of backends) this.byName.set(b.name, b);
  }

  /** The backend called `name`, without probing it (to take over a sandbox it made). */
  backend(name: BackendName): Backend | undefined {
    return this.byName.get(name);
  }

  /**
   * A probe result. A probe starts a sandbox, so results are kept; one older than a minute
   * is refreshed in the background while the last one keeps answering, so no request waits
   * for a probe after the first.
   */
  probe(name: BackendName): Promise<Probe> {
    const cached = this.probes.get(name);
    if (cached && Date.now() - cached.at >= PROBE_TTL_MS && !this.refreshing.has(name)) {
      this.refreshing.add(name);
      const next = this.run(name);
      void next.finally(() => {
        this.probes.set(name, { at: Date.now(), probe: next });
        this.refreshing.delete(name);
      });
    }
    if (cached) return cached.probe;
    const probe = this.run(name);
    this.probes.set(name, { at: Date.now(), probe });
    return probe;
  }

  private run(name: BackendName): Promise<Probe> {
    const backend = this.byName.get(name);
    return backend ? backend.probe().catch((err) => ({ available: false, detail: `probe failed: ${(err as Error).message}`, hint: "" })) : Promise.resolve({ available: false, detail: "not built in", hint: "" });
  }

  /** The backend automatic selection picks, or undefined when none can run. */
  async automatic(): Promise<Backend | undefined> {
    for (const name of AUTOMATIC_ORDER) {
      if ((await this.probe(name)).available) return this.byName.get(name);
    }
    return undefined;
  }

  async select(requested: string, allowHostCompat: boolean): Promise<Backend> {
    if (requested === "") {
      const backend = await this.automatic();
      if (backend) return backend;
      const probe = await this.probe("namespace");
      throw new PyroError("backend_unavailable", `no isolating backend can run here: ${probe.detail}`, {
        hint: probe.hint ? `${probe.hint}; or pass --backend host --allow-host-compat to run without isolation` : undefined,
      });
    }
    if (!(BACKEND_NAMES as readonly string[]).includes(requested)) {
      throw new PyroError("invalid_argument", `unknown backend "${requested}"; choose one of ${BACKEND_NAMES.join(", ")}`);
    }
    const name = requested as BackendName;
    if (name === "host" && !allowHostCompat) {
      throw new PyroError("host_compat_not_allowed", "the host backend runs commands on this host without isolation");
    }
    const backend = this.byName.get(name);
    const probe = await this.probe(name);
    if (!backend || !probe.available) {
      throw new PyroError("backend_unavailable", `the ${name} backend cannot run here: ${probe.detail}`, { hint: probe.hint || undefined });
    }
    return backend;
  }
}
