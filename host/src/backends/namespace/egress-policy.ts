/**
 * Where a sandbox with `--network` may connect: the internet, not the host. The host's own
 * addresses and networks (its LANs) and every range that is not the public internet
 * (loopback, private, shared, link-local with the cloud metadata address, multicast,
 * reserved) are blocked; a few exact destinations are allowed before the block list applies (today only
 * the user-mode stack's DNS forwarder; later, destinations a user allows by name).
 */
import { isIPv4, isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";

/** An address or CIDR prefix, IPv4 or IPv6, with the reason it is listed. */
export interface EgressRange {
  cidr: string;
  why: string;
}

/** A destination allowed before the block list applies: one range, and only these protocols and ports. */
export interface EgressAllow extends EgressRange {
  protocols: ("tcp" | "udp")[];
  ports: number[];
}

export interface EgressPolicy {
  allow: EgressAllow[];
  block: EgressRange[];
}

/** slirp4netns's DNS forwarder inside the sandbox: it relays to the host's resolver. */
export const SLIRP_DNS = "10.0.2.3";

/**
 * Destinations that are not the public internet (IANA special-purpose registries, RFC 6890
 * and its updates). IPv6 stays off in the user-mode stack; its ranges are listed anyway so
 * turning it on cannot open the host. The IPv4 documentation ranges (TEST-NET-1/2/3) are
 * not listed: the internet does not route them, so blocking them protects nothing, while
 * lab and test networks that do use them keep their proxies there. Where the host itself
 * sits on one, its own network is blocked like any host network.
 */
export const NON_INTERNET_RANGES: readonly EgressRange[] = [
  { cidr: "0.0.0.0/8", why: "this network" },
  { cidr: "10.0.0.0/8", why: "private (includes the user-mode stack's host alias 10.0.2.2)" },
  { cidr: "100.64.0.0/10", why: "shared address space (carrier-grade NAT)" },
  { cidr: "127.0.0.0/8", why: "loopback" },
  { cidr: "169.254.0.0/16", why: "link-local (cloud metadata at 169.254.169.254)" },
  { cidr: "172.16.0.0/12", why: "private" },
  { cidr: "192.0.0.0/24", why: "IETF protocol assignments" },
  { cidr: "192.88.99.0/24", why: "6to4 relay anycast" },
  { cidr: "192.168.0.0/16", why: "private" },
  { cidr: "198.18.0.0/15", why: "benchmarking" },
  { cidr: "224.0.0.0/4", why: "multicast" },
  { cidr: "240.0.0.0/4", why: "reserved, and the limited broadcast address" },
  { cidr: "::/128", why: "unspecified" },
  { cidr: "::1/128", why: "loopback" },
  { cidr: "::ffff:0:0/96", why: "IPv4-mapped (would reach any IPv4 address)" },
  { cidr: "64:ff9b::/96", why: "NAT64 (would reach any IPv4 address)" },
  { cidr: "64:ff9b:1::/48", why: "local-use NAT64" },
  { cidr: "100::/64", why: "discard-only" },
  { cidr: "2001:db8::/32", why: "documentation" },
  { cidr: "2002::/16", why: "6to4 (embeds any IPv4 address)" },
  { cidr: "fc00::/7", why: "unique local" },
  { cidr: "fe80::/10", why: "link-local" },
  { cidr: "fec0::/10", why: "site-local" },
  { cidr: "ff00::/8", why: "multicast" },
];

/** Every address on the host's interfaces now (loopback included): the sandbox must reach none of them. */
export function hostAddresses(interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string[] {
  const out = new Set<string>();
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      // Zone ids (fe80::1%eth0) are not part of the address.
      const address = a.address.split("%")[0]!;
      if (isIPv4(address) || isIPv6(address)) out.add(address);
    }
  }
  return [...out];
}

/** The networks of the host's interfaces (address/prefix, e.g. "192.0.2.2/24"): its LANs. */
export function hostNetworks(interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string[] {
  const out = new Set<string>();
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      const [address, prefix] = (a.cidr ?? "").split("/");
      if (address && prefix && (isIPv4(address) || isIPv6(address))) out.add(`${address}/${prefix}`);
    }
  }
  return [...out];
}

/**
 * The policy for a sandbox started now, given the host's addresses and networks (read with
 * `hostAddresses()` and `hostNetworks()`).
 */
export function egressPolicy(host: string[], networks: string[] = []): EgressPolicy {
  return {
    allow: [{ cidr: `${SLIRP_DNS}/32`, protocols: ["udp", "tcp"], ports: [53], why: "DNS through the user-mode stack's forwarder" }],
    block: [
      ...NON_INTERNET_RANGES,
      ...host.map((a) => ({ cidr: a, why: "an address of this host" })),
      ...networks.map((n) => ({ cidr: n, why: "a network this host is on" })),
    ],
  };
}
