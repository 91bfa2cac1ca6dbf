import { fqdn } from '../../dns/message.js';
import { addressFromReverse, isIP, isIPv4 } from '../../reverse.js';
import { isSubDomain } from '../../zones.js';
import type { KAddress, KubeStore } from './store.js';

/** `msg.Service`: one backend answer before it becomes RRs (plugin/etcd/msg/service.go). */
export interface BService {
  /** An IP address, or a name (CNAME target / PTR target). */
  readonly host: string;
  readonly port: number;
  readonly ttl: number;
  readonly priority: number;
  readonly weight: number;
  readonly text?: string;
  /** `msg.Domain(Key)`: the FQDN this service lives at (SRV/NS targets). */
  readonly domain: string;
}

export type HostType = 'A' | 'AAAA' | 'CNAME' | 'TXT';

export function hostType(s: BService): HostType {
  if (s.text !== undefined && s.host === '') return 'TXT';
  if (isIPv4(s.host)) return 'A';
  if (isIP(s.host)) return 'AAAA';
  return 'CNAME';
}

export class NameError extends Error {
  constructor(kind: 'errNoItems' | 'errNsNotExposed' | 'errInvalidRequest') {
    super(kind);
  }
}

export interface KubeOptions {
  zones: string[];
  primaryZoneIndex: number;
  ttl: number;
  podMode: 'disabled' | 'insecure' | 'verified';
  endpointPodNames: boolean;
  namespaces: Set<string>;
  ignoreEmptyService: boolean;
  noEndpoints: boolean;
  localIPs: readonly string[];
}

export interface RecordRequest {
  podOrSvc: string;
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
}

export const DNS_SCHEMA_VERSION = '1.1.0';

const strip = (s: string): string => (s.startsWith('_') ? s.slice(1) : s);

/** parse.go `parseRequest`: zone stripped, labels right to left. */
export function parseRequest(name: string, zone: string): RecordRequest {
  const r: RecordRequest = { podOrSvc: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' };
  const n = name.toLowerCase();
  const z = zone.toLowerCase();
  let base = z === '.' ? n.slice(0, -1) : n.length > z.length ? n.slice(0, n.length - z.length - 1) : '';
  if (n === z) base = '';
  if (base === '' || base === 'svc' || base === 'pod') return r;
  const segs = name.slice(0, base.length).split('.');
  let last = segs.length - 1;
  r.podOrSvc = segs[last]!.toLowerCase();
  if (r.podOrSvc !== 'pod' && r.podOrSvc !== 'svc') throw new NameError('errInvalidRequest');
  last--;
  if (last < 0) return r;
  r.namespace = segs[last]!;
  last--;
  if (last < 0) return r;
  r.service = segs[last]!;
  last--;
  if (last < 0) return r;
  if (last === 0) r.endpoint = segs[0]!;
  else if (last === 1) {
    r.protocol = strip(segs[1]!);
    r.port = strip(segs[0]!);
  } else throw new NameError('errInvalidRequest');
  return r;
}

const match = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
const matchPP = (aPort: string, bPort: string, aProto: string, bProto: string): boolean =>
  (aPort === '' || match(aPort, bPort)) && (aProto === '' || match(aProto, bProto));

/** `endpointHostname`: hostname, else pod name (endpoint_pod_names), else the dashed IP. */
export function endpointHostname(a: KAddress, podNames: boolean): string {
  if (a.hostname) return a.hostname;
  if (podNames && a.targetRefName) return a.targetRefName;
  if (a.ip.includes('.')) return a.ip.replace(/\./g, '-');
  if (a.ip.includes(':')) {
    const h = a.ip.replace(/:/g, '-');
    return h.endsWith('-') ? `${h}0` : h;
  }
  return '';
}

/** The plugin's view of the cluster (kubernetes.go): Records, Services, Reverse, nsAddrs. */
export class KubeBackend {
  constructor(
    readonly store: KubeStore,
    readonly opt: KubeOptions,
  ) {}

  primaryZone(): string {
    return this.opt.zones[this.opt.primaryZoneIndex]!;
  }

  namespaceExposed(ns: string): boolean {
    if (this.opt.namespaces.size > 0 && ![...this.opt.namespaces].some((n) => match(n, ns))) return false;
    return this.store.hasNamespace(ns);
  }

  /** `Services`: the TXT/NS special names, then Records; SRV drops ExternalName CNAMEs. */
  services(qname: string, qtype: string, zone: string): BService[] {
    const z = fqdn(zone);
    if (qtype === 'TXT') {
      const base = qname.length > z.length ? qname.slice(0, qname.length - z.length - 1) : '';
      if (base.toLowerCase() === 'dns-version') return [{ host: '', port: 0, ttl: 28800, priority: 0, weight: 0, text: DNS_SCHEMA_VERSION, domain: fqdn(qname) }];
      let s: BService[] = [];
      try {
        s = this.records(qname, zone);
      } catch {
        s = [];
      }
      if (s.length > 0) return [];
      throw new NameError('errNoItems');
    }
    if (qtype === 'NS') return this.nsAddrs(z);
    if (qname.toLowerCase() === `ns.dns.${z.toLowerCase()}`) return this.nsAddrs(z);
    const s = this.records(qname, zone);
    if (qtype !== 'SRV') return s;
    return s.filter((x) => hostType(x) !== 'CNAME');
  }

  /** `Records`: the name parsed into a svc or pod query. */
  records(qname: string, zone: string): BService[] {
    const r = parseRequest(qname, zone);
    if (r.podOrSvc === '') return [];
    if (addressFromReverse(qname) !== '' || /\.(in-addr|ip6)\.arpa\.?$/i.test(qname)) throw new NameError('errNoItems');
    if (!this.namespaceExposed(r.namespace)) throw new NameError('errNsNotExposed');
    if (r.podOrSvc === 'pod') return this.findPods(r, zone);
    return this.findServices(r, zone);
  }

  private findPods(r: RecordRequest, zone: string): BService[] {
    if (this.opt.podMode === 'disabled') throw new NameError('errNoItems');
    if (!this.namespaceExposed(r.namespace)) throw new NameError('errNoItems');
    const podname = r.service;
    if (podname === '') return [];
    const ip = (podname.match(/-/g) ?? []).length === 3 && !podname.includes('--') ? podname.replace(/-/g, '.') : podname.replace(/-/g, ':');
    const domain = fqdn(`${podname}.${r.namespace}.pod.${zone.replace(/\.$/, '')}`);
    if (this.opt.podMode === 'insecure') {
      if (!isIP(ip)) throw new NameError('errNoItems');
      return [{ host: ip, port: 0, ttl: this.opt.ttl, priority: 0, weight: 0, domain }];
    }
    const out: BService[] = [];
    for (const p of this.store.podIndex(ip)) {
      if (p.podIP === ip && match(r.namespace, p.namespace)) out.push({ host: ip, port: 0, ttl: this.opt.ttl, priority: 0, weight: 0, domain });
    }
    if (out.length === 0) throw new NameError('errNoItems');
    return out;
  }

  private findServices(r: RecordRequest, zone: string): BService[] {
    if (!this.namespaceExposed(r.namespace)) throw new NameError('errNsNotExposed');
    if (r.service === '') return [];
    const zoneName = zone.replace(/\.$/, '');
    const out: BService[] = [];
    let found = false;
    const ttl = this.opt.ttl;
    for (const svc of this.store.serviceList()) {
      if (!(match(r.namespace, svc.namespace) && match(r.service, svc.name))) continue;
      const svcDomain = `${svc.name}.${svc.namespace}.svc.${zoneName}.`;
      if (this.opt.ignoreEmptyService && svc.type !== 'ExternalName' && !(svc.clusterIPs.length === 1 && svc.clusterIPs[0] === 'None')) {
        if (!this.hasReadyEndpoints(svc.namespace, svc.name)) continue;
      }
      if (svc.type === 'ExternalName') {
        // no endpoints, and no _port._proto pseudo labels for an external name
        if (r.endpoint !== '' || r.port !== '' || r.protocol !== '') continue;
        const s: BService = { host: svc.externalName, port: 0, ttl, priority: 0, weight: 0, domain: svcDomain };
        if (hostType(s) === 'CNAME') {
          out.push(s);
          found = true;
        }
        continue;
      }
      const headless = svc.clusterIPs.length === 1 && svc.clusterIPs[0] === 'None';
      if (headless || r.endpoint !== '') {
        if (this.opt.noEndpoints) continue;
        for (const ep of this.store.endpointsList()) {
          if (ep.index !== `${svc.namespace}/${svc.name}`) continue;
          for (const addr of ep.addresses) {
            const host = endpointHostname(addr, this.opt.endpointPodNames);
            if (r.endpoint !== '' && !match(r.endpoint, host)) continue;
            for (const p of ep.ports) {
              if (!matchPP(r.port, p.name, r.protocol, p.protocol)) continue;
              found = true;
              out.push({ host: addr.ip, port: p.port, ttl, priority: 0, weight: 0, domain: `${host}.${svcDomain}` });
            }
          }
        }
        continue;
      }
      for (const p of svc.ports) {
        if (!matchPP(r.port, p.name, r.protocol, p.protocol)) continue;
        found = true;
        for (const ip of svc.clusterIPs) out.push({ host: ip, port: p.port, ttl, priority: 0, weight: 0, domain: svcDomain });
      }
    }
    if (!found) throw new NameError('errNoItems');
    return out;
  }

  private hasReadyEndpoints(ns: string, name: string): boolean {
    return this.store.endpointsList().some((e) => e.index === `${ns}/${name}` && e.addresses.length > 0);
  }

  /** reverse.go: ClusterIP first (one name), else every endpoint holding the IP. */
  reverse(qname: string, zone: string): BService[] {
    const ip = addressFromReverse(qname);
    if (ip === '') {
      this.records(qname, zone);
      return [];
    }
    const pz = this.primaryZone().replace(/\.$/, '');
    for (const s of this.store.svcIndexReverse(ip)) {
      if (this.opt.namespaces.size > 0 && !this.namespaceExposed(s.namespace)) continue;
      return [{ host: `${s.name}.${s.namespace}.svc.${pz}`, port: 0, ttl: this.opt.ttl, priority: 0, weight: 0, domain: '' }];
    }
    const out: BService[] = [];
    for (const ep of this.store.epIndexReverse(ip)) {
      if (this.opt.namespaces.size > 0 && !this.namespaceExposed(ep.namespace)) continue;
      for (const a of ep.addresses) {
        if (a.ip !== ip) continue;
        out.push({ host: `${endpointHostname(a, this.opt.endpointPodNames)}.${ep.service}.${ep.namespace}.svc.${pz}`, port: 0, ttl: this.opt.ttl, priority: 0, weight: 0, domain: '' });
      }
    }
    if (out.length === 0) throw new NameError('errNoItems');
    return out;
  }

  /** ns.go `nsAddrs`: the Services whose endpoints are this CoreDNS's own IPs, else ns.dns. */
  nsAddrs(zone: string): BService[] {
    const z = zone.replace(/\.$/, '');
    const out: BService[] = [];
    for (const local of this.opt.localIPs) {
      for (const ep of this.store.epIndexReverse(local)) {
        for (const svc of this.store.svcIndex(ep.index)) {
          const name = `${svc.name}.${svc.namespace}.svc.${z}.`;
          const headless = svc.clusterIPs.length === 1 && svc.clusterIPs[0] === 'None';
          if (headless) {
            for (const a of ep.addresses) out.push({ host: a.ip, port: 0, ttl: this.opt.ttl, priority: 0, weight: 0, domain: `${endpointHostname(a, false)}.${name}` });
            continue;
          }
          for (const ip of svc.clusterIPs) out.push({ host: ip, port: 0, ttl: this.opt.ttl, priority: 0, weight: 0, domain: name });
        }
      }
    }
    if (out.length === 0) {
      for (const ip of this.opt.localIPs) out.push({ host: ip, port: 0, ttl: this.opt.ttl, priority: 0, weight: 0, domain: `ns.dns.${z}.` });
    }
    return out;
  }

  isSub(zone: string, name: string): boolean {
    return isSubDomain(zone, name);
  }
}
