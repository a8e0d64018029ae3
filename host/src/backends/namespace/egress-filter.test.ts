import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { nftRuleset, probeEgressFilter } from "./egress-filter.js";
import { egressPolicy } from "./egress-policy.js";

const canUnshare = (() => {
  try {
    execFileSync("unshare", ["--user", "--map-root-user", "--net", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("egress filter", () => {
  it("accepts loopback and the allowed destinations before refusing the blocked ones", () => {
    const text = nftRuleset(egressPolicy(["192.0.2.2", "fd00::2"]));
    const at = (s: string) => {
      const i = text.indexOf(s);
      expect(i, s).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(at('oifname "lo" accept')).toBeLessThan(at("ip daddr 10.0.2.3/32 meta l4proto { udp, tcp } th dport { 53 } accept"));
    expect(at("th dport { 53 } accept")).toBeLessThan(at("ip daddr @blocked_v4 jump refuse"));
    at("ip6 daddr @blocked_v6 jump refuse");
    at("169.254.0.0/16");
    at("192.0.2.2");
    at("fd00::2");
    // Refused, not dropped: a connect fails at once.
    at("meta l4proto tcp reject with tcp reset");
    at("reject with icmpx admin-prohibited");
    expect(text).not.toContain("drop");
  });

  it("refuses anything but an address or prefix, so nothing else reaches the ruleset", () => {
    const policy = egressPolicy([]);
    for (const bad of ["1.2.3.4 } ; flush ruleset ; {", "10.0.0.0/33", "::1/129", "10.0.0.0/8/8", "example.com", ""]) {
      expect(() => nftRuleset({ ...policy, block: [{ cidr: bad, why: "" }] }), bad).toThrow(/not an IP address/);
    }
    expect(() => nftRuleset({ ...policy, allow: [{ ...policy.allow[0]!, ports: [0] }] })).toThrow(/ports/);
    expect(() => nftRuleset({ ...policy, allow: [{ ...policy.allow[0]!, protocols: ["icmp" as "tcp"] }] })).toThrow(/protocols/);
  });

  it.skipIf(!canUnshare)("loads into a real network namespace with this host's addresses", async () => {
    const probe = await probeEgressFilter();
    expect(probe, probe.detail).toMatchObject({ available: true });
  });
});
