/**
 * The structured results of the `vm_*` operations (MCP `structuredContent`) and their short
 * summaries. A VM is a workspace without a seed, so these are the workspace renderings with
 * the id reported as `vm_id` and without what a VM does not have (name, labels, snapshots).
 * The network description is derived from the workspace's record alone: what was asked
 * (`network`) and the backend that runs it (`execution_mode`).
 */
import { execJson, workspaceJson, type ExecJson, type WorkspaceJson } from "./json-workspace.js";
import type { ExecWorkspaceResult, WorkspaceInfo } from "./workspace-types.js";

/** A VM as a model sees it: a workspace's record under the VM's names (no name, labels or snapshots). */
export type VmJson = { vm_id: string } & Omit<WorkspaceJson, "workspace_id" | "name" | "labels" | "snapshots">;

export function vmJson(w: WorkspaceInfo): VmJson {
  const { workspace_id, name: _name, labels: _labels, snapshots: _snapshots, ...rest } = workspaceJson(w);
  return { vm_id: workspace_id, ...rest };
}

export function vmSummary(v: VmJson): string {
  const commands = `${v.command_count} command${v.command_count === 1 ? "" : "s"} run`;
  let text = `VM ${v.vm_id} is ${v.state}: ${v.environment} on the ${v.execution_mode} backend, network ${v.network ? "on" : "off"}, ${commands}, expires ${v.expires_at}.`;
  if (v.failure) text += `\nfailure: ${v.failure}`;
  return text;
}

export type VmExecJson = { vm_id: string } & ExecJson;

/** An exec's result with the VM it ran in; output cut to `maxOutputBytes` (head and tail kept) when given. */
export function vmExecJson(vmId: string, r: ExecWorkspaceResult, maxOutputBytes?: number): VmExecJson {
  return { vm_id: vmId, ...execJson(r, maxOutputBytes) };
}

export function vmExecSummary(r: VmExecJson): string {
  const how = r.timed_out ? `timed out after ${r.duration_ms} ms (its process group was killed)` : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exit_code}`;
  let text = `Command ${r.sequence} in VM ${r.vm_id} ${how}.`;
  if (r.stdout) text += `\n\nstdout${r.stdout_truncated ? " (cut)" : ""}:\n${r.stdout}`;
  if (r.stderr) text += `\n\nstderr${r.stderr_truncated ? " (cut)" : ""}:\n${r.stderr}`;
  return text;
}

/** How a VM reaches the network: `off` (loopback only), `egress` (the internet only) or `host` (the host's own network, unisolated). */
export type VmNetworkMode = "off" | "egress" | "host";

export interface VmNetworkJson {
  vm_id: string;
  state: string;
  execution_mode: string;
  /** Outbound access as asked for at creation (the record's `network`). */
  network: boolean;
  /** Whether its commands can open connections beyond loopback. */
  outbound: boolean;
  mode: VmNetworkMode;
  /** Always empty: pyro gives a VM no address the host or other VMs can reach, and records none. */
  guest_ip: string;
  detail: string;
}

const NO_ADDRESS = "No address is reported: pyro records none for a VM, and nothing outside it can connect in.";

/** What a VM's network is, from its record: what was asked and what its backend gives. */
export function vmNetworkJson(w: WorkspaceInfo): VmNetworkJson {
  const base = { vm_id: w.workspaceId, state: w.state, execution_mode: w.executionMode, network: w.network, guest_ip: "" };
  let mode: VmNetworkMode;
  let detail: string;
  if (w.executionMode === "host") {
    // The host backend isolates nothing, the network included, whatever was asked.
    mode = "host";
    detail =
      "The host backend does not isolate the network: commands use the host's own network (its addresses, its loopback and whatever it can reach)" +
      (w.network ? "." : ", even though network was off at creation.") +
      " The VM has no address of its own to report.";
  } else if (w.executionMode === "namespace") {
    mode = w.network ? "egress" : "off";
    detail = w.network
      ? "Its own network namespace, with a user-mode network stack behind an egress filter: outbound connections reach the internet only; " +
        "the host's addresses, private, shared, link-local (cloud metadata) and reserved ranges are refused. " +
        NO_ADDRESS
      : `Its own network namespace with loopback only: no outbound access (create a VM with network=true for the internet). ${NO_ADDRESS}`;
  } else {
    mode = w.network ? "egress" : "off";
    detail = `Outbound access is ${w.network ? "on" : "off"}, as recorded at creation; the ${w.executionMode} backend reports no more. ${NO_ADDRESS}`;
  }
  if (w.state !== "started") detail += ` The VM is ${w.state}: nothing runs in it until vm_start.`;
  return { ...base, outbound: mode !== "off", mode, detail };
}

export function vmNetworkSummary(n: VmNetworkJson): string {
  const access = n.mode === "host" ? "the host's own network (no isolation)" : n.outbound ? "outbound internet access" : "no outbound access (loopback only)";
  return `VM ${n.vm_id} (${n.execution_mode} backend) has ${access}.\n${n.detail}`;
}

export interface VmReapJson {
  reaped: string[];
}

export function vmReapJson(ids: string[]): VmReapJson {
  return { reaped: [...ids] };
}

export function vmReapSummary(j: VmReapJson): string {
  if (j.reaped.length === 0) return "Nothing had expired; nothing was deleted.";
  return `Deleted ${j.reaped.length} expired VM${j.reaped.length === 1 ? "" : "s"} or workspace${j.reaped.length === 1 ? "" : "s"}: ${j.reaped.join(" ")}`;
}
