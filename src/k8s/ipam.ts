import { cidrOverlaps, formatCidr, parseCidr, prefixMask, type Ipv4Addr, type Ipv4Cidr } from '../wire/ipv4-address.js';

/**
 * Node pod-CIDR allocation as kube-controller-manager's range allocator does it: nodes in
 * order, each taking the lowest free /maskSize of the cluster CIDR; pinned ranges (a node's
 * spec.podCIDR) are taken first so no one else gets them. Answers one CIDR per node, or
 * undefined where the cluster CIDR is exhausted.
 */
export function allocateNodeCidrs(cluster: string, maskSize: number, pinned: readonly (string | undefined)[]): (string | undefined)[] {
  const c = parseCidr(cluster);
  const used: Ipv4Cidr[] = pinned.filter((p): p is string => p !== undefined).map(parseCidr);
  const count = 2 ** (maskSize - c.len);
  const base = (c.addr & prefixMask(c.len)) >>> 0;
  const step = 2 ** (32 - maskSize);
  let next = 0;
  return pinned.map((p) => {
    if (p !== undefined) return p;
    while (next < count) {
      const cand: Ipv4Cidr = { addr: (base + next * step) as Ipv4Addr, len: maskSize };
      next++;
      if (!used.some((u) => cidrOverlaps(u, cand))) {
        used.push(cand);
        return formatCidr(cand);
      }
    }
    return undefined;
  });
}
