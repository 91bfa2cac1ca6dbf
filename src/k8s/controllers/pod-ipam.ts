import { formatIpv4, parseCidr, parseIpv4, prefixMask } from '../../wire/ipv4-address.js';

/**
 * host-local IPAM over one node's pod CIDR, as the CNI host-local plugin allocates: range
 * network+1 .. broadcast-1 with the gateway (.1) reserved, iteration from the last reserved IP
 * + 1, so pods get .2, .3, ... in creation order; addresses already taken (pods pinned by
 * status.podIP) are skipped.
 */
export class HostLocalRange {
  private readonly first: number;
  private readonly last: number;
  private readonly gateway: number;
  private lastReserved: number;
  private readonly used = new Set<number>();

  constructor(cidr: string) {
    const c = parseCidr(cidr);
    const net = (c.addr & prefixMask(c.len)) >>> 0;
    const bcast = (net | ~prefixMask(c.len)) >>> 0;
    this.first = net + 1;
    this.last = bcast - 1;
    this.gateway = net + 1;
    this.lastReserved = this.gateway;
  }

  /** Marks a pinned address as used (it must be inside the range). */
  reserve(ip: string): void {
    this.used.add(parseIpv4(ip));
  }

  /** The next free address, or undefined when the range is full. */
  allocate(): string | undefined {
    const size = this.last - this.first + 1;
    for (let i = 1; i <= size; i++) {
      let cand = this.lastReserved + i;
      if (cand > this.last) cand = this.first + ((cand - this.first) % size);
      if (cand === this.gateway || this.used.has(cand)) continue;
      this.used.add(cand);
      this.lastReserved = cand;
      return formatIpv4(cand);
    }
    return undefined;
  }

  get gatewayIp(): string {
    return formatIpv4(this.gateway);
  }
}
