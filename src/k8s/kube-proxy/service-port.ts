/**
 * kube-proxy's view of a Service: one ServicePort per (service, port), as
 * pkg/proxy/serviceport.go newBaseServiceInfo and servicechangetracker.go build it, plus the
 * change tracker that tells a partial sync which services changed.
 */
import type { Protocol, Service } from '../api/types.js';
import type { Ipv4Cidr } from '../../wire/ipv4-address.js';
import { EXT_PREFIX, FW_PREFIX, portProtoHash, SVC_PREFIX, SVL_PREFIX } from './chain-names.js';
import { cidrString, familyOfCidr, familyOfIp, ipString, parseCidrSloppy, parseIpv4Sloppy, type IpFamily } from './ip.js';

export interface ServicePortName {
  namespace: string;
  name: string;
  port: string; // the port's name, '' when unnamed
  protocol: Protocol;
}

/** ServicePortName.String(): "ns/name:port", or "ns/name" for an unnamed port. */
export function servicePortNameString(n: Pick<ServicePortName, 'namespace' | 'name' | 'port'>): string {
  return `${n.namespace}/${n.name}${n.port === '' ? '' : ':' + n.port}`;
}

/** Map key that also separates protocols (the Go struct includes Protocol). */
export function servicePortKey(n: ServicePortName): string {
  return `${servicePortNameString(n)}/${n.protocol}`;
}

export interface ServicePortInfo {
  readonly svcName: ServicePortName;
  /** "ns/name:port" */
  readonly nameString: string;
  /** "ns/name" */
  readonly namespacedName: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly nodePort: number;
  readonly loadBalancerVIPs: readonly string[];
  readonly sessionAffinityClientIP: boolean;
  readonly stickyMaxAgeSeconds: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly Ipv4Cidr[];
  readonly healthCheckNodePort: number;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  readonly hintsAnnotation: string;
  readonly targetPort: number | string | undefined;
  // Precomputed chain names (pkg/proxy/iptables newServiceInfo).
  readonly clusterPolicyChainName: string;
  readonly localPolicyChainName: string;
  readonly firewallChainName: string;
  readonly externalChainName: string;
}

export function externallyAccessible(s: ServicePortInfo): boolean {
  return s.nodePort !== 0 || s.loadBalancerVIPs.length !== 0 || s.externalIPs.length !== 0;
}
/** Cluster endpoints are needed for iTP=Cluster, and for any external access (short-circuit). */
export function usesClusterEndpoints(s: ServicePortInfo): boolean {
  return !s.internalPolicyLocal || externallyAccessible(s);
}
export function usesLocalEndpoints(s: ServicePortInfo): boolean {
  return s.internalPolicyLocal || (s.externalPolicyLocal && externallyAccessible(s));
}

// --- pkg/api/v1/service helpers ---------------------------------------------------------
function serviceType(svc: Service): string {
  return svc.spec.type ?? 'ClusterIP';
}
export function serviceExternallyAccessible(svc: Service): boolean {
  const t = svc.spec.type;
  // Upstream compares the literal field: an unset type is neither ClusterIP nor NodePort.
  return t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && (svc.spec.externalIPs?.length ?? 0) > 0);
}
export function serviceExternalPolicyLocal(svc: Service): boolean {
  return serviceExternallyAccessible(svc) && svc.spec.externalTrafficPolicy === 'Local';
}
export function serviceInternalPolicyLocal(svc: Service): boolean {
  return svc.spec.internalTrafficPolicy === 'Local';
}
export function serviceNeedsHealthCheck(svc: Service): boolean {
  return svc.spec.type === 'LoadBalancer' && serviceExternalPolicyLocal(svc);
}

/** proxyutil.ShouldSkipService: headless, no cluster IP, or ExternalName. */
export function shouldSkipService(svc: Service): boolean {
  const ip = svc.spec.clusterIP;
  if (ip === undefined || ip === '' || ip === 'None') return true;
  if (serviceType(svc) === 'ExternalName') return true;
  return false;
}

/** proxyutil.GetClusterIPByFamily. */
export function clusterIPByFamily(family: IpFamily, svc: Service): string {
  const ips = svc.spec.clusterIPs ?? [];
  if (ips.length === 0) {
    const ip = svc.spec.clusterIP ?? '';
    return familyOfIp(ip) === family ? ip : '';
  }
  for (const ip of ips) if (familyOfIp(ip) === family) return ip;
  return '';
}

function canonIp(text: string): string {
  const a = parseIpv4Sloppy(text);
  return a === undefined ? text : ipString(a);
}

export function newServicePortInfo(svc: Service, family: IpFamily, portIndex: number): ServicePortInfo {
  const sp = svc.spec.ports![portIndex]!;
  const namespace = svc.metadata.namespace ?? 'default';
  const protocol: Protocol = sp.protocol ?? 'TCP';
  const svcName: ServicePortName = { namespace, name: svc.metadata.name, port: sp.name ?? '', protocol };
  const nameString = servicePortNameString(svcName);
  const proto = protocol.toLowerCase();
  const clientIP = svc.spec.sessionAffinity === 'ClientIP';

  // MapIPsByIPFamily / MapCIDRsByIPFamily: keep the proxier's family, drop unparsable ones.
  const externalIPs: string[] = [];
  for (const e of svc.spec.externalIPs ?? []) {
    const t = e.trim();
    if (familyOfIp(t) === family) externalIPs.push(canonIp(t));
  }
  const ranges: Ipv4Cidr[] = [];
  for (const r of svc.spec.loadBalancerSourceRanges ?? []) {
    const t = r.trim();
    if (familyOfCidr(t) !== family) continue;
    const c = parseCidrSloppy(t);
    if (c !== undefined) ranges.push(c);
  }
  const lbVIPs: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (ing.ip === undefined || ing.ip === '') continue;
    // Proxy-mode load balancers are not VIPs kube-proxy captures (LoadBalancerIPMode).
    if (ing.ipMode === 'Proxy') continue;
    if (familyOfIp(ing.ip) === family) lbVIPs.push(canonIp(ing.ip));
  }
  let hc = 0;
  if (serviceNeedsHealthCheck(svc)) hc = svc.spec.healthCheckNodePort ?? 0;
  const ann = svc.metadata.annotations ?? {};
  const hintsAnnotation =
    ann['service.kubernetes.io/topology-aware-hints'] ?? ann['service.kubernetes.io/topology-mode'] ?? '';

  const hash = portProtoHash(nameString, proto);
  return {
    svcName,
    nameString,
    namespacedName: `${namespace}/${svc.metadata.name}`,
    clusterIP: canonIp(clusterIPByFamily(family, svc)),
    port: sp.port,
    protocol,
    nodePort: sp.nodePort ?? 0,
    loadBalancerVIPs: lbVIPs,
    sessionAffinityClientIP: clientIP,
    stickyMaxAgeSeconds: clientIP ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : 0,
    externalIPs,
    loadBalancerSourceRanges: ranges,
    healthCheckNodePort: hc,
    externalPolicyLocal: serviceExternalPolicyLocal(svc),
    internalPolicyLocal: serviceInternalPolicyLocal(svc),
    hintsAnnotation,
    targetPort: sp.targetPort,
    // The four per-service chains share one hash (servicePortChainNames upstream).
    clusterPolicyChainName: SVC_PREFIX + hash,
    localPolicyChainName: SVL_PREFIX + hash,
    firewallChainName: FW_PREFIX + hash,
    externalChainName: EXT_PREFIX + hash,
  };
}

/** serviceToServiceMap: every port of a proxied service. */
export function serviceToServicePorts(svc: Service | undefined, family: IpFamily): Map<string, ServicePortInfo> {
  const m = new Map<string, ServicePortInfo>();
  if (svc === undefined || shouldSkipService(svc)) return m;
  if (clusterIPByFamily(family, svc) === '') return m;
  (svc.spec.ports ?? []).forEach((_, i) => {
    const info = newServicePortInfo(svc, family, i);
    m.set(servicePortKey(info.svcName), info);
  });
  return m;
}

function portsJson(m: Map<string, ServicePortInfo>): string {
  return JSON.stringify([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * ServiceChangeTracker + ServicePortMap.Update: changes accumulate per namespace/name until
 * the next sync checks them out; a change that ends where it started is dropped.
 */
export class ServiceTracker {
  private readonly items = new Map<string, { previous: Map<string, ServicePortInfo>; current: Map<string, ServicePortInfo> }>();
  /** The applied map: servicePortKey -> info. */
  readonly svcPortMap = new Map<string, ServicePortInfo>();
  /** namespace/name -> its applied servicePortKeys (keeps updates O(ports of the service)). */
  private readonly byName = new Map<string, Set<string>>();

  constructor(readonly family: IpFamily = 'IPv4') {}

  /** Returns true when there are pending changes (as upstream Update does). */
  update(previous: Service | undefined, current: Service | undefined): boolean {
    const svc = current ?? previous;
    if (svc === undefined) return false;
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    let change = this.items.get(key);
    if (change === undefined) {
      change = { previous: this.appliedPortsOf(key), current: new Map() };
      this.items.set(key, change);
    }
    change.current = serviceToServicePorts(current, this.family);
    if (portsJson(change.previous) === portsJson(change.current)) this.items.delete(key);
    return this.items.size > 0;
  }

  private appliedPortsOf(nn: string): Map<string, ServicePortInfo> {
    const m = new Map<string, ServicePortInfo>();
    for (const k of this.byName.get(nn) ?? []) m.set(k, this.svcPortMap.get(k)!);
    return m;
  }

  /** Applies pending changes; answers the namespaced names that changed. */
  checkout(): { updatedServices: Set<string>; deletedUDPClusterIPs: Set<string> } {
    const updated = new Set<string>();
    const deletedUDP = new Set<string>();
    for (const [nn, change] of this.items) {
      updated.add(nn);
      for (const [k, v] of change.previous) {
        if (!change.current.has(k)) {
          this.svcPortMap.delete(k);
          if (v.protocol === 'UDP') deletedUDP.add(v.clusterIP);
        }
      }
      for (const [k, v] of change.current) this.svcPortMap.set(k, v);
      if (change.current.size === 0) this.byName.delete(nn);
      else this.byName.set(nn, new Set(change.current.keys()));
    }
    this.items.clear();
    return { updatedServices: updated, deletedUDPClusterIPs: deletedUDP };
  }

  /** HealthCheckNodePorts(): namespace/name -> port. */
  healthCheckNodePorts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const v of this.svcPortMap.values()) if (v.healthCheckNodePort !== 0) m.set(v.namespacedName, v.healthCheckNodePort);
    return m;
  }
}

export { cidrString };
