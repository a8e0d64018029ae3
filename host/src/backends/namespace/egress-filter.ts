/**
 * Enforces an egress policy with nftables rules inside the sandbox's own network namespace,
 * installed from the host before the user-mode stack is attached (so no packet ever leaves
 * unfiltered). Sandbox processes have no capabilities over that namespace, so they cannot
 * change the rules. Blocked destinations are refused (TCP reset, ICMP admin-prohibited),
 * not dropped, so a connect fails at once instead of after a timeout.
 */
import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { isIPv4, isIPv6 } from "node:net";
import { delimiter, join } from "node:path";
import { PyroError } from "../../../../sdk/src/errors.js";
import { egressPolicy, hostAddresses, type EgressPolicy } from "./egress-policy.js";

export const EGRESS_TABLE = "pyro_egress";
const NFT_HINT = "apt-get install -y nftables";
const STDERR_MAX = 4096;

/** `addr` or `addr/len`, checked and normalised: nothing unchecked reaches the ruleset's text. */
function cidr(text: string): { family: 4 | 6; text: string } {
  const [addr = "", len, ...rest] = text.split("/");
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  const bits = family === 4 ? 32 : 128;
  if (!family || rest.length > 0 || (len !== undefined && !(/^\d{1,3}$/.test(len) && Number(len) <= bits))) {
    throw new Error(`${JSON.stringify(text)} is not an IP address or CIDR prefix`);
  }
  return { family, text: len === undefined ? addr : `${addr}/${Number(len)}` };
}

function set(name: string, type: string, elements: string[]): string {
  const unique = [...new Set(elements)];
  // auto-merge: host addresses may lie inside a listed range (e.g. a host on 10.0.0.5).
  return `  set ${name} {\n    type ${type}; flags interval; auto-merge;\n${unique.length ? `    elements = { ${unique.join(", ")} }\n` : ""}  }\n`;
}

/** The nftables ruleset (for `nft -f`) that enforces `policy` on everything a sandbox sends, loopback aside. */
export function nftRuleset(policy: EgressPolicy): string {
  const block = policy.block.map((r) => cidr(r.cidr));
  const allow = policy.allow.map((a) => {
    const c = cidr(a.cidr);
    if (a.ports.length === 0 || a.ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new Error(`bad ports for ${a.cidr}`);
    if (a.protocols.length === 0 || a.protocols.some((p) => p !== "tcp" && p !== "udp")) throw new Error(`bad protocols for ${a.cidr}`);
    return `    ${c.family === 4 ? "ip" : "ip6"} daddr ${c.text} meta l4proto { ${a.protocols.join(", ")} } th dport { ${a.ports.join(", ")} } accept\n`;
  });
  return (
    `table inet ${EGRESS_TABLE} {\n` +
    set("blocked_v4", "ipv4_addr", block.filter((c) => c.family === 4).map((c) => c.text)) +
    set("blocked_v6", "ipv6_addr", block.filter((c) => c.family === 6).map((c) => c.text)) +
    "  chain output {\n" +
    "    type filter hook output priority filter; policy accept;\n" +
    // The sandbox's own loopback (and replies the refuse chain generates) stay inside it.
    '    oifname "lo" accept\n' +
    allow.join("") +
    "    ip daddr @blocked_v4 jump refuse\n" +
    "    ip6 daddr @blocked_v6 jump refuse\n" +
    "  }\n" +
    "  chain refuse {\n" +
    "    meta l4proto tcp reject with tcp reset\n" +
    "    reject with icmpx admin-prohibited\n" +
    "  }\n" +
    "}\n"
  );
}

/** A program by name on PATH or in the sbin directories (nft lives in /usr/sbin, off a normal user's PATH). */
async function findProgram(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  return undefined;
}

/** Runs `argv` with `input` on stdin; resolves with its exit code and the tail of its stderr. */
function runWithInput(argv: string[], input: string, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "ignore", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_MAX)));
    child.once("error", fail);
    child.once("close", (code, signal) => ok({ code, stderr: signal ? `${stderr}(killed by ${signal})` : stderr }));
    child.stdin.on("error", () => {}); // an early exit is reported through `close`
    child.stdin.end(input);
  });
}

function oneLine(text: string): string {
  return text.trim().split("\n").slice(-3).join(" | ") || "no output";
}

async function nftPath(): Promise<string> {
  const nft = await findProgram("nft");
  if (!nft) throw new PyroError("backend_unavailable", "nft (nftables) is not installed, so --network cannot be given: it filters what the sandbox may reach", { hint: NFT_HINT });
  return nft;
}

/**
 * Installs `policy` in the network namespace of `pid` (a process inside the sandbox). Root
 * enters that namespace directly; anyone else enters the user namespace that owns it
 * first, where the manager's uid is root (the sandbox's namespaces are the manager's own).
 */
export async function installEgressFilter(pid: number, policy: EgressPolicy, o: { root: boolean; timeoutMs?: number }): Promise<void> {
  const nft = await nftPath();
  const enter = o.root
    ? [`--net=/proc/${pid}/ns/net`]
    : [`--user=/proc/${pid}/ns/user`, `--net=/proc/${pid}/ns/net`, "--preserve-credentials"];
  const r = await runWithInput(["nsenter", ...enter, "--", nft, "-f", "-"], nftRuleset(policy), o.timeoutMs ?? 10_000).catch((err: NodeJS.ErrnoException) => {
    throw new PyroError("backend_unavailable", `nsenter could not run (${err.code ?? err.message}), so the sandbox's egress filter cannot be installed`, { hint: "apt-get install -y util-linux" });
  });
  if (r.code !== 0) throw new PyroError("sandbox_start_failed", `the sandbox's egress filter could not be installed: ${oneLine(r.stderr)}`, { hint: "run `pyro doctor`: the egress_filter check says what this host lacks" });
}

/** Whether this host can filter sandbox egress: loads the real ruleset into a throwaway network namespace. */
export async function probeEgressFilter(): Promise<{ available: boolean; detail: string; hint: string }> {
  let nft: string;
  try {
    nft = await nftPath();
  } catch (err) {
    return { available: false, detail: (err as Error).message, hint: NFT_HINT };
  }
  const addresses = hostAddresses();
  const r = await runWithInput(["unshare", "--user", "--map-root-user", "--net", "--", nft, "-f", "-"], nftRuleset(egressPolicy(addresses)), 10_000).catch(
    (err: Error) => ({ code: -1, stderr: err.message }),
  );
  if (r.code !== 0) {
    return {
      available: false,
      detail: `nftables could not load the egress filter, so --network cannot be given: ${oneLine(r.stderr)}`,
      hint: "use a kernel with nf_tables and its inet reject support (CONFIG_NF_TABLES_INET, CONFIG_NFT_REJECT_INET), and allow unprivileged user namespaces",
    };
  }
  return {
    available: true,
    detail: `--network reaches the internet only: the host's ${addresses.length} addresses, loopback, private, shared, link-local (cloud metadata) and reserved ranges are refused (nftables in each sandbox's network namespace)`,
    hint: "",
  };
}
