/** `pyro doctor`: what each backend needs, what is here, and which backend will run sandboxes. */
import { execFile } from "node:child_process";
import { access, constants, mkdir, statfs } from "node:fs/promises";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { CheckStatus, DoctorResponseSchema, type DoctorResponse } from "../../proto/gen/pyro/manager/v1/system_service_pb.js";
import { BACKEND_NAMES, type BackendName } from "./backends/backend.js";
import { probeEgressFilter } from "./backends/namespace/egress-filter.js";
import type { BackendRegistry } from "./backends/registry.js";
import { describeSeccomp, seccompFilter } from "./backends/namespace/seccomp-filter.js";
import { probeSeccomp } from "./backends/namespace/seccomp-probe.js";
import type { EnvironmentStore } from "./environments/store.js";
import type { Enforcement } from "./backends/namespace/namespace-backend.js";
import type { PyroError } from "../../sdk/src/errors.js";

const run = promisify(execFile);

interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

/** A program the host needs: ok with its version line, or `missing` when it does not run. */
async function programCheck(name: string, argv: [string, ...string[]], suffix: string, missing: Omit<Check, "name">): Promise<Check> {
  const version = await run(argv[0], argv.slice(1), { timeout: 5000 }).then(
    (r) => (r.stdout || r.stderr).split("\n")[0]!.trim(),
    () => "",
  );
  return version ? { name, status: CheckStatus.OK, detail: version + suffix } : { name, ...missing };
}

export interface DoctorOptions {
  backends: BackendRegistry;
  store: EnvironmentStore;
  stateDir: string;
  cacheDir: string;
  defaultBackend: string;
  /** Which limits namespace sandboxes get on this host. */
  namespaceLimits?: () => Promise<Enforcement>;
}

export async function doctor(o: DoctorOptions): Promise<DoctorResponse> {
  const checks: Check[] = [];
  const kvm = await access("/dev/kvm", constants.R_OK | constants.W_OK).then(() => true, () => false);
  checks.push(
    kvm
      ? { name: "kvm", status: CheckStatus.OK, detail: "/dev/kvm is usable" }
      : { name: "kvm", status: CheckStatus.WARN, detail: "/dev/kvm is missing or not accessible", hint: "only the firecracker backend needs KVM; enable virtualization or use the namespace backend" },
  );
  checks.push(await programCheck("bubblewrap", ["bwrap", "--version"], "", { status: CheckStatus.FAIL, detail: "bwrap is not installed", hint: "apt-get install -y bubblewrap" }));
  const ns = await o.backends.probe("namespace");
  checks.push({ name: "user_namespaces", status: ns.available ? CheckStatus.OK : CheckStatus.FAIL, detail: ns.detail, hint: ns.hint });
  checks.push(await seccompCheck());
  if (o.namespaceLimits) checks.push(...limitChecks(await o.namespaceLimits()));
  checks.push(
    await programCheck("network", ["slirp4netns", "--version"], " (for --network)", {
      status: CheckStatus.WARN,
      detail: "slirp4netns is not installed: sandboxes cannot get --network",
      hint: "apt-get install -y slirp4netns",
    }),
  );
  const egress = await probeEgressFilter();
  checks.push({ name: "egress_filter", status: egress.available ? CheckStatus.OK : CheckStatus.WARN, detail: egress.detail, hint: egress.hint });
  checks.push(
    await programCheck("environment_builder", ["mmdebstrap", "--version"], "", {
      status: CheckStatus.FAIL,
      detail: "mmdebstrap is not installed: environments cannot be built",
      hint: "apt-get install -y mmdebstrap",
    }),
  );
  checks.push(await cacheCheck(o.cacheDir));
  const envs = await o.store.list();
  const installed = envs.filter((e) => e.installed).map((e) => e.entry.name);
  checks.push({
    name: "environments",
    status: installed.length > 0 ? CheckStatus.OK : CheckStatus.WARN,
    detail: installed.length > 0 ? `installed: ${installed.join(", ")}` : "none installed yet",
    hint: installed.length > 0 ? "" : "run `pyro env pull debian:12` (or let `pyro run` install it)",
  });

  const available: BackendName[] = [];
  for (const name of BACKEND_NAMES) {
    if (name !== "host" && (await o.backends.probe(name)).available) available.push(name);
  }
  available.push("host");
  let chosen = "";
  if (o.defaultBackend) chosen = o.defaultBackend;
  else chosen = (await o.backends.automatic())?.name ?? "";
  checks.push(
    chosen
      ? { name: "backend", status: chosen === "host" ? CheckStatus.WARN : CheckStatus.OK, detail: `${chosen} runs sandboxes by default${o.defaultBackend ? " (PYRO_BACKEND)" : ""}`, hint: chosen === "host" ? "the host backend has no isolation" : "" }
      : { name: "backend", status: CheckStatus.FAIL, detail: "no isolating backend can run here", hint: ns.hint },
  );
  if (ns.available) checks.push(isolationSummary(checks));
  return create(DoctorResponseSchema, {
    checks: checks.map((c) => ({ ...c, hint: c.hint ?? "" })),
    defaultBackend: chosen,
    availableBackends: available,
    stateDir: o.stateDir,
    cacheDir: o.cacheDir,
  });
}

/** One line: the isolation a namespace sandbox gets on this host, from the checks above. */
function isolationSummary(checks: Check[]): Check {
  const ok = (name: string) => checks.find((c) => c.name === name)?.status === CheckStatus.OK;
  const parts = [
    "user, mount, pid, ipc, uts, cgroup and network namespaces",
    "no capabilities, no_new_privs",
    "an agent commands cannot trace or read (not dumpable)",
    ok("seccomp") ? "a seccomp filter" : "NO seccomp filter",
    ok("cgroup_limits") ? "CPU, memory and process limits" : "CPU, memory and process limits NOT enforced",
    ok("disk_limit") ? "a bounded disk" : "disk size NOT enforced",
    ok("egress_filter") ? "--network egress without the host or private ranges" : "--network egress filter unavailable",
  ];
  const complete = ["seccomp", "cgroup_limits", "disk_limit", "egress_filter"].every(ok);
  return { name: "isolation", status: complete ? CheckStatus.OK : CheckStatus.WARN, detail: `namespace sandboxes get ${parts.join("; ")}`, hint: complete ? "" : "see the checks above for what is missing and how to add it" };
}

/** Which resource limits namespace sandboxes get here: honest about what is only recorded. */
function limitChecks(e: Enforcement): Check[] {
  const cgroups: Check =
    e.cgroups.version !== 0
      ? { name: "cgroup_limits", status: CheckStatus.OK, detail: `${e.cgroups.detail}: vcpu_count, mem_mib and a process limit are enforced` }
      : { name: "cgroup_limits", status: CheckStatus.WARN, detail: `vcpu_count, mem_mib and the process limit are recorded, not enforced: ${e.cgroups.reason}`, hint: "run the manager as root on a host with cgroup memory, pids and cpu controllers" };
  const disk: Check = e.disk.available
    ? { name: "disk_limit", status: CheckStatus.OK, detail: `${e.disk.detail}: disk_mib is enforced` }
    : { name: "disk_limit", status: CheckStatus.WARN, detail: `disk_mib is recorded, not enforced: ${e.disk.reason}`, hint: "run the manager as root, with e2fsprogs and loop devices" };
  return [cgroups, disk];
}

/** The filter every namespace sandbox runs under: which, how big, and whether this host puts it in force. */
async function seccompCheck(): Promise<Check> {
  let filter;
  try {
    filter = seccompFilter();
  } catch (err) {
    return { name: "seccomp", status: CheckStatus.FAIL, detail: (err as PyroError).message, hint: (err as PyroError).hint };
  }
  const problem = await probeSeccomp(filter);
  return problem
    ? { name: "seccomp", status: CheckStatus.FAIL, detail: `${describeSeccomp(filter)}; but a test sandbox could not run under it: ${problem}`, hint: "use a kernel with CONFIG_SECCOMP_FILTER and bubblewrap 0.4 or newer; namespace sandboxes do not start without the filter" }
    : { name: "seccomp", status: CheckStatus.OK, detail: `${describeSeccomp(filter)}; in force in a test sandbox` };
}

async function cacheCheck(dir: string): Promise<Check> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    const s = await statfs(dir);
    const free = Number(s.bavail) * Number(s.bsize);
    const gib = (free / 2 ** 30).toFixed(1);
    return free < 2 * 2 ** 30
      ? { name: "cache", status: CheckStatus.WARN, detail: `${dir}: ${gib} GiB free`, hint: "an environment takes 0.2–1 GiB; free some space or set PYRO_CACHE_DIR" }
      : { name: "cache", status: CheckStatus.OK, detail: `${dir}: ${gib} GiB free` };
  } catch (err) {
    return { name: "cache", status: CheckStatus.FAIL, detail: `${dir} is not writable: ${(err as Error).message}`, hint: "set PYRO_CACHE_DIR to a writable directory" };
  }
}
