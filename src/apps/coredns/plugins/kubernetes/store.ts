import type { EndpointSlice, Namespace, Pod, Service } from '../../../../k8s/api/types.js';

/** A Service as the kubernetes plugin keeps it (plugin/kubernetes/object/service.go). */
export interface KService {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly externalName: string;
  /** `None` for headless; from spec.clusterIPs, else spec.clusterIP. */
  readonly clusterIPs: readonly string[];
  /** A sentinel port -1 when the Service declares none, as CoreDNS adds. */
  readonly ports: readonly { name: string; port: number; protocol: string }[];
}

/** A ready address of an EndpointSlice (object/endpoint.go). */
export interface KAddress {
  readonly ip: string;
  readonly hostname: string;
  readonly targetRefName: string;
  readonly nodeName: string;
}

/** One EndpointSlice reduced to its ready addresses and ports, indexed by Service. */
export interface KEndpoints {
  readonly name: string;
  readonly namespace: string;
  /** `namespace/service` from the `kubernetes.io/service-name` label. */
  readonly index: string;
  readonly service: string;
  readonly addresses: readonly KAddress[];
  readonly ports: readonly { name: string; port: number; protocol: string }[];
}

export interface KPod {
  readonly name: string;
  readonly namespace: string;
  readonly podIP: string;
}

/**
 * The in-memory store the kubernetes plugin reads, standing in for its informers over
 * Services, EndpointSlices, Pods and Namespaces. `modified` (Unix seconds of the last change
 * to a Service, EndpointSlice or Namespace) becomes the SOA serial, as controller.go
 * `updateModified`.
 */
export class KubeStore {
  private services = new Map<string, KService>();
  private endpoints = new Map<string, KEndpoints>();
  private pods = new Map<string, KPod>();
  private namespaces = new Set<string>();
  modified = 0;
  /** False until the informers synced; names that would be NXDOMAIN are SERVFAIL until then. */
  synced = true;

  constructor(private readonly unixNow: () => number) {}

  private touch(): void {
    this.modified = Math.floor(this.unixNow());
  }

  upsert(obj: Service | EndpointSlice | Pod | Namespace): void {
    const ns = obj.metadata.namespace ?? 'default';
    const key = `${ns}/${obj.metadata.name}`;
    switch (obj.kind) {
      case 'Namespace':
        this.namespaces.add(obj.metadata.name);
        this.touch();
        return;
      case 'Service':
        this.services.set(key, toService(obj));
        this.touch();
        return;
      case 'EndpointSlice':
        if (obj.addressType === 'FQDN') return; // CoreDNS watches IPv4/IPv6 slices only
        this.endpoints.set(key, toEndpoints(obj));
        this.touch();
        return;
      case 'Pod':
        this.pods.set(key, { name: obj.metadata.name, namespace: ns, podIP: obj.status?.podIP ?? '' });
        return;
    }
  }

  delete(kind: 'Service' | 'EndpointSlice' | 'Pod' | 'Namespace', namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (kind === 'Namespace') this.namespaces.delete(name);
    else if (kind === 'Service') this.services.delete(key);
    else if (kind === 'EndpointSlice') this.endpoints.delete(key);
    else this.pods.delete(key);
    if (kind !== 'Pod') this.touch();
  }

  hasNamespace(ns: string): boolean {
    for (const n of this.namespaces) if (n.toLowerCase() === ns.toLowerCase()) return true;
    return false;
  }

  serviceList(): KService[] {
    return [...this.services.values()];
  }

  endpointsList(): KEndpoints[] {
    return [...this.endpoints.values()];
  }

  /** Services whose ClusterIP is `ip` (SvcIndexReverse). */
  svcIndexReverse(ip: string): KService[] {
    return this.serviceList().filter((s) => s.clusterIPs.includes(ip));
  }

  /** EndpointSlices holding `ip` (EpIndexReverse). */
  epIndexReverse(ip: string): KEndpoints[] {
    return this.endpointsList().filter((e) => e.addresses.some((a) => a.ip === ip));
  }

  /** Services named by an endpoints index (SvcIndex). */
  svcIndex(index: string): KService[] {
    const s = this.services.get(index);
    return s ? [s] : [];
  }

  podIndex(ip: string): KPod[] {
    return [...this.pods.values()].filter((p) => p.podIP === ip);
  }
}

function toService(s: Service): KService {
  const ips = s.spec.clusterIPs && s.spec.clusterIPs.length > 0 ? [...s.spec.clusterIPs] : [s.spec.clusterIP ?? ''];
  const ports =
    s.spec.ports && s.spec.ports.length > 0
      ? s.spec.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' }))
      : [{ name: '', port: -1, protocol: '' }];
  return {
    name: s.metadata.name,
    namespace: s.metadata.namespace ?? 'default',
    type: s.spec.type ?? 'ClusterIP',
    externalName: s.spec.externalName ?? '',
    clusterIPs: ips,
    ports,
  };
}

function toEndpoints(e: EndpointSlice): KEndpoints {
  const ns = e.metadata.namespace ?? 'default';
  const svc = e.metadata.labels?.['kubernetes.io/service-name'] ?? '';
  const ports =
    e.ports && e.ports.length > 0
      ? e.ports.map((p) => ({ name: p.name ?? '', port: p.port ?? -1, protocol: p.protocol ?? 'TCP' }))
      : [{ name: '', port: -1, protocol: '' }];
  const addresses: KAddress[] = [];
  for (const end of e.endpoints) {
    if (end.conditions?.ready === false) continue;
    for (const ip of end.addresses) {
      const ref = end.targetRef?.name ?? '';
      addresses.push({ ip, hostname: end.hostname ?? '', targetRefName: ref.length < 64 ? ref : '', nodeName: end.nodeName ?? '' });
    }
  }
  return { name: e.metadata.name, namespace: ns, index: `${ns}/${svc}`, service: svc, addresses, ports };
}
