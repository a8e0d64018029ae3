import { BlockList, isIPv4 } from "node:net";
import { describe, expect, it } from "vitest";
import { egressPolicy, hostAddresses, hostNetworks, NON_INTERNET_RANGES, SLIRP_DNS, type EgressRange } from "./egress-policy.js";

/** One BlockList per family: a BlockList applies IPv6 rules such as ::ffff:0:0/96 to IPv4 addresses too. */
function lists(ranges: EgressRange[]) {
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const r of ranges) {
    const [a, len] = r.cidr.split("/");
    if (isIPv4(a!)) v4.addSubnet(a!, Number(len ?? 32), "ipv4");
    else v6.addSubnet(a!, Number(len ?? 128), "ipv6");
  }
  return (address: string) => (isIPv4(address) ? v4.check(address, "ipv4") : v6.check(address, "ipv6"));
}

describe("egress policy", () => {
  const blocked = lists(egressPolicy(["198.51.100.7", "2a01:4f8::7"], ["198.51.100.7/24", "2a01:4f8::7/64"]).block);

  it("blocks the host, its LAN, cloud metadata and every non-internet range", () => {
    for (const a of [
      "198.51.100.7", "2a01:4f8::7", // the host's own addresses, even public ones
      "198.51.100.1", "2a01:4f8::1", // its LANs (here, its gateway)
      "127.0.0.1", "10.0.2.2", "10.0.2.3", "10.255.255.53", "172.16.0.1", "172.31.255.255", "192.168.1.1",
      "100.64.0.1", "169.254.169.254", "0.0.0.0", "198.18.0.1", "224.0.0.1", "255.255.255.255",
      "::1", "::", "fd00::2", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "2001:db8::1",
    ]) {
      expect(blocked(a), a).toBe(true);
    }
  });

  it("leaves the public internet open", () => {
    // Documentation ranges too: not routed on the internet, yet where lab networks keep proxies.
    for (const a of ["1.1.1.1", "151.101.2.132", "8.8.8.8", "172.32.0.1", "100.128.0.1", "203.0.113.80", "192.0.2.1", "2a04:4e42::644", "2606:4700::1111"]) {
      expect(blocked(a), a).toBe(false);
    }
  });

  it("allows only DNS to the user-mode stack's forwarder ahead of the block list", () => {
    expect(egressPolicy([]).allow).toEqual([expect.objectContaining({ cidr: `${SLIRP_DNS}/32`, protocols: ["udp", "tcp"], ports: [53] })]);
  });

  it("gives every listed range a reason", () => {
    for (const r of NON_INTERNET_RANGES) expect(r.why, r.cidr).not.toBe("");
  });

  it("reads every address of every interface, without zone ids or duplicates", () => {
    const info = (address: string, family: "IPv4" | "IPv6") => ({ address, family, netmask: "", mac: "", internal: false, cidr: null, ...(family === "IPv6" ? { scopeid: 2 } : {}) });
    const got = hostAddresses({
      lo: [info("127.0.0.1", "IPv4"), info("::1", "IPv6")],
      eth0: [info("192.0.2.2", "IPv4"), info("fe80::1%eth0", "IPv6"), info("192.0.2.2", "IPv4")],
      odd: [info("not-an-address", "IPv4")],
    } as never);
    expect(got.sort()).toEqual(["127.0.0.1", "192.0.2.2", "::1", "fe80::1"].sort());
  });

  it("reads the network of every interface", () => {
    const info = (address: string, cidr: string | null) => ({ address, family: "IPv4", netmask: "", mac: "", internal: false, cidr });
    expect(hostNetworks({ eth0: [info("192.0.2.2", "192.0.2.2/24"), info("10.9.9.9", null)] } as never)).toEqual(["192.0.2.2/24"]);
  });
});
