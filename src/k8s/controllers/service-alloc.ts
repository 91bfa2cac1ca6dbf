import type { Random } from '../../sim/random.js';
import { formatIpv4, parseCidr, parseIpv4, prefixMask } from '../../wire/ipv4-address.js';
import type { Service } from '../api/types.js';

/**
 * ClusterIP allocation as the apiserver's bitmap allocator with the static/dynamic split
 * (KEP-3070): dynamic addresses are drawn at random from the upper band, leaving the lower
 * band for addresses users pin; the network and broadcast addresses are never given out.
 */
export class ClusterIpAllocator {
  private readonly base: number;
  private readonly size: number;
  private readonly offset: number;
  private readonly used = new Set<number>();

  constructor(cidr: string, private readonly rng: Random) {
    const c = parseCidr(cidr);
    this.base = (c.addr & prefixMask(c.len)) >>> 0;
    this.size = 2 ** (32 - c.len) - 2; // without network and broadcast
    this.offset = Math.min(Math.max(16, Math.floor(this.size / 16)), 256);
  }

  reserve(ip: string): void {
    this.used.add(parseIpv4(ip));
  }

  /** The first address of the range (`kubernetes.default` gets it). */
  first(): string {
    return formatIpv4(this.base + 1);
  }

  allocate(): string | undefined {
    const lo = this.offset;
    const span = this.size - lo;
    const start = this.rng.int(span);
    for (let i = 0; i < this.size; i++) {
      // Upper band first, from a random start, then the lower band.
      const k = i < span ? lo + ((start + i) % span) : i - span;
      const ip = this.base + 1 + k;
      if (!this.used.has(ip)) {
        this.used.add(ip);
        return formatIpv4(ip);
      }
    }
    return undefined;
  }
}

/** NodePort allocation from 30000-32767, the same banded random choice (KEP-3668). */
export class NodePortAllocator {
  private readonly used = new Set<number>();
  constructor(private readonly rng: Random, private readonly lo = 30000, private readonly hi = 32767) {}
  reserve(port: number): void {
    this.used.add(port);
  }
  allocate(): number | undefined {
    const size = this.hi - this.lo + 1;
    const offset = Math.min(Math.max(16, Math.floor(size / 32)), 128);
    const span = size - offset;
    const start = this.rng.int(span);
    for (let i = 0; i < size; i++) {
      const k = i < span ? offset + ((start + i) % span) : i - span;
      if (!this.used.has(this.lo + k)) {
        this.used.add(this.lo + k);
        return this.lo + k;
      }
    }
    return undefined;
  }
}

/** Fills what the apiserver defaults on a Service: clusterIP(s), nodePorts, protocol, targetPort. */
export function allocateService(svc: Service, ips: ClusterIpAllocator, ports: NodePortAllocator): void {
  const spec = svc.spec;
  spec.type ??= 'ClusterIP';
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
    const ip = ips.allocate();
    if (ip) spec.clusterIP = ip;
  }
  if (spec.clusterIP && spec.clusterIP !== 'None') spec.clusterIPs ??= [spec.clusterIP];
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    for (const p of spec.ports ?? []) if (p.nodePort === undefined) {
      const np = ports.allocate();
      if (np !== undefined) p.nodePort = np;
    }
    spec.externalTrafficPolicy ??= 'Cluster';
    if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort === undefined) {
      const hc = ports.allocate();
      if (hc !== undefined) spec.healthCheckNodePort = hc;
    }
  }
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
}
