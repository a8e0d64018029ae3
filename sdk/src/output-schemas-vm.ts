/** zod output schemas of the `vm_*` operations' structured results (see `json-vm.ts`). */
import { z } from "zod";
import { limitsSchema, WORKSPACE_OUTPUT_SHAPES } from "./output-schemas-workspace.js";

const vm = {
  vm_id: z.string().describe("The id every vm_* tool takes (also a workspace_id)."),
  state: z.string().describe("started (vm_exec works), stopped or failed (vm_start brings it back)."),
  environment: z.string(),
  execution_mode: z.string().describe("The backend that runs it: namespace, host or firecracker."),
  created_at: z.string(),
  last_activity_at: z.string().describe("Time of the last change to it; reads do not count."),
  expires_at: z.string().describe("When the manager deletes it."),
  ttl_seconds: z.number().int(),
  limits: limitsSchema.describe("The limits it runs under, and which this host enforces."),
  seccomp: z.string().describe("The seccomp filter its commands run under; empty when none (the host backend)."),
  network: z.boolean().describe("Outbound network access as asked for at creation; vm_network_info says what it means on this backend."),
  sandbox_id: z.string(),
  command_count: z.number().int().describe("Commands run in it so far."),
  failure: z.string().describe("Why it failed, when it did."),
};

/** workspace_exec's result, with the VM it ran in. */
const exec = { vm_id: z.string().describe("The VM as the call named it."), ...WORKSPACE_OUTPUT_SHAPES.workspace_exec };

const network = {
  vm_id: z.string(),
  state: z.string(),
  execution_mode: z.string().describe("The backend that runs it; it decides how the network is provided."),
  network: z.boolean().describe("Outbound access as asked for at creation."),
  outbound: z.boolean().describe("Whether its commands can open connections beyond loopback."),
  mode: z.enum(["off", "egress", "host"]).describe("off: loopback only; egress: the internet only, behind an egress filter; host: the host's own network, unisolated."),
  guest_ip: z.string().describe("Empty: pyro gives a VM no address the host or other VMs can reach, and records none."),
  detail: z.string().describe("How this backend provides it, in a few sentences."),
};

/** The output shapes of the `vm_*` operations over workspaces, by operation name. */
export const VM_OUTPUT_SHAPES = {
  vm_create: vm,
  vm_status: vm,
  vm_stop: vm,
  vm_start: vm,
  vm_delete: { vm_id: z.string(), deleted: z.boolean() },
  vm_exec: exec,
  vm_network_info: network,
  vm_reap_expired: { reaped: z.array(z.string()).describe("Ids of the VMs and workspaces deleted because their TTL had passed; empty when none had.") },
} satisfies Record<string, z.ZodRawShape>;
