/**
 * The `firecracker` backend's place in the registry. MicroVMs are not built yet; the probe
 * reports what a host would need (KVM, the firecracker binary) so `pyro doctor` is honest,
 * and `create` refuses rather than falling back to anything weaker.
 */
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { promisify } from "node:util";
import { PyroError } from "../../../sdk/src/errors.js";
import type { Backend, BackendCapabilities, Probe, Sandbox } from "./backend.js";

const run = promisify(execFile);

const UNAVAILABLE = () =>
  new PyroError("backend_unavailable", "the firecracker backend is not implemented in this release", {
    hint: "omit --backend to use the namespace backend, or run `pyro doctor`",
  });

export class FirecrackerBackend implements Backend {
  readonly name = "firecracker" as const;
  readonly isolated = true;
  /** Nothing is implemented yet, so nothing is declared. */
  readonly capabilities: BackendCapabilities = {
    isolation: "microvm",
    limits: { vcpuCount: "none", memMib: "none", diskMib: "none", pids: "none" },
    stopStart: false,
    recover: false,
    snapshot: "none",
    network: [],
    publishPorts: false,
  };

  async probe(): Promise<Probe> {
    const kvm = await access("/dev/kvm", constants.R_OK | constants.W_OK).then(() => true, () => false);
    const binary = await run("firecracker", ["--version"]).then((r) => r.stdout.split("\n")[0]?.trim() ?? "firecracker", () => "");
    return {
      available: false,
      detail: `not implemented in this release (KVM ${kvm ? "usable" : "not usable"}; ${binary || "no firecracker binary"})`,
      hint: "use the namespace backend (the default without this backend)",
    };
  }

  async create(): Promise<Sandbox> {
    throw UNAVAILABLE();
  }

  async recover(): Promise<Sandbox | "gone"> {
    throw UNAVAILABLE();
  }
}
