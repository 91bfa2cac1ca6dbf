import { Random } from '../../sim/random.js';
import type { Cluster } from '../api/cluster.js';
import type { ConfigMap, EndpointSlice, Endpoints, Ingress, IngressClass, Namespace, Node, Pod, Service } from '../api/types.js';
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../api/workloads.js';
import { allocateNodeCidrs } from '../ipam.js';
import { DEFAULT_COREFILE } from './defaults.js';
import { endpointSlicesFor, mirrorEndpoints, SERVICE_NAME } from './endpointslice.js';
import { HostLocalRange } from './pod-ipam.js';
import { schedule } from './scheduler.js';
import { allocateService, ClusterIpAllocator, NodePortAllocator } from './service-alloc.js';
import { expandDaemonSet, expandDeployment, expandReplicaSet, expandStatefulSet } from './workloads.js';

/** What the API server holds once the controllers, scheduler and kubelets have run. */
export interface ClusterState {
  readonly cluster: Cluster;
  readonly nodes: Node[];
  readonly namespaces: Namespace[];
  readonly pods: Pod[];
  readonly services: Service[];
  readonly endpoints: Endpoints[];
  readonly endpointSlices: EndpointSlice[];
  readonly configMaps: ConfigMap[];
  readonly ingresses: Ingress[];
  readonly ingressClasses: IngressClass[];
  readonly replicaSets: ReplicaSet[];
  /** Component configs in their own formats, e.g. KubeProxyConfiguration, as given. */
  readonly componentConfigs: Record<string, unknown>[];
  /** Pods the scheduler could not place (Pending). */
  readonly pending: Pod[];
}

const nsOf = (o: { metadata: { namespace?: string } }): string => o.metadata.namespace ?? 'default';

/**
 * Runs the control plane over a scenario's objects: adds what every cluster has (the
 * `kubernetes` Service, kube-dns and CoreDNS), expands workloads into pods, schedules them,
 * allocates node CIDRs, pod IPs, ClusterIPs and NodePorts, and builds EndpointSlices.
 * Deterministic for the same objects and cluster seed.
 */
export function buildClusterState(cluster: Cluster, objects: readonly Record<string, unknown>[]): ClusterState {
  const spec = cluster.spec;
  const rng = new Random(spec.seed);
  const byKind = <T>(k: string): T[] => objects.filter((o) => o.kind === k).map((o) => structuredClone(o) as T);

  const cidrs = allocateNodeCidrs(spec.podCIDR, spec.nodeCIDRMaskSize, spec.nodes.map((n) => n.podCIDR));
  const nodes: Node[] = spec.nodes.map((n, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...(n.labels ?? {}) } },
    spec: cidrs[i] ? { podCIDR: cidrs[i]!, podCIDRs: [cidrs[i]!] } : {},
    status: { addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }] },
  }));
  const schedulable = nodes.map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} }));

  const services = byKind<Service>('Service');
  const configMaps = byKind<ConfigMap>('ConfigMap');
  const deployments = byKind<Deployment>('Deployment');
  const endpoints = byKind<Endpoints>('Endpoints');

  // What an installed cluster always has.
  const has = (list: { metadata: { name: string; namespace?: string } }[], ns: string, name: string): boolean => list.some((o) => nsOf(o) === ns && o.metadata.name === name);
  const ips = new ClusterIpAllocator(spec.serviceCIDR, rng.fork('clusterip'));
  if (!has(services, 'default', 'kubernetes')) {
    services.unshift({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: ips.first(), ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }] },
    });
    if (!has(endpoints, 'default', 'kubernetes') && spec.nodes[0]) {
      endpoints.unshift({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' }, subsets: [{ addresses: [{ ip: spec.nodes[0].ip }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }] });
    }
  }
  if (!has(services, 'kube-system', 'kube-dns')) {
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        type: 'ClusterIP',
        clusterIP: spec.clusterDNS,
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
          { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
          { name: 'metrics', protocol: 'TCP', port: 9153, targetPort: 9153 },
        ],
      },
    });
  }
  if (!has(deployments, 'kube-system', 'coredns')) {
    deployments.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns' } },
          spec: {
            dnsPolicy: 'Default',
            // kubeadm's (and k3s's) CoreDNS Deployment runs as the coredns ServiceAccount.
            serviceAccountName: 'coredns',
            containers: [{ name: 'coredns', image: 'coredns/coredns', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }, { name: 'metrics', containerPort: 9153, protocol: 'TCP' }] }],
          },
        },
      },
    });
  }
  if (!has(configMaps, 'kube-system', 'coredns')) {
    configMaps.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: DEFAULT_COREFILE(spec.clusterDomain) } });
  }

  // Workloads -> pods.
  const ctl = rng.fork('controllers');
  const replicaSets: ReplicaSet[] = [];
  const pods: Pod[] = byKind<Pod>('Pod');
  for (const d of deployments) {
    const { replicaSet, pods: ps } = expandDeployment(d, ctl);
    replicaSets.push(replicaSet);
    pods.push(...ps);
  }
  for (const rs of byKind<ReplicaSet>('ReplicaSet')) {
    replicaSets.push(rs);
    pods.push(...expandReplicaSet(rs, ctl));
  }
  for (const s of byKind<StatefulSet>('StatefulSet')) pods.push(...expandStatefulSet(s));
  for (const ds of byKind<DaemonSet>('DaemonSet')) pods.push(...expandDaemonSet(ds, schedulable, ctl));
  for (const p of pods) {
    p.metadata.namespace ??= 'default';
    p.status ??= {};
    p.status.phase ??= 'Running';
    p.status.conditions ??= [{ type: 'Ready', status: 'True' }];
  }
  const pending = schedule(pods, schedulable);

  // IPAM: host-local per node, pinned IPs reserved first.
  const ranges = new Map<string, HostLocalRange>();
  nodes.forEach((n) => n.spec.podCIDR && ranges.set(n.metadata.name, new HostLocalRange(n.spec.podCIDR)));
  const nodeIp = new Map(spec.nodes.map((n) => [n.name, n.ip]));
  for (const p of pods) if (!p.spec.hostNetwork && p.status?.podIP && p.spec.nodeName) ranges.get(p.spec.nodeName)?.reserve(p.status.podIP);
  for (const p of pods) {
    if (!p.spec.nodeName) continue;
    p.status!.hostIP = nodeIp.get(p.spec.nodeName)!;
    if (p.spec.hostNetwork) p.status!.podIP = nodeIp.get(p.spec.nodeName)!;
    else if (!p.status!.podIP) {
      const ip = ranges.get(p.spec.nodeName)?.allocate();
      if (ip) p.status!.podIP = ip;
    }
    if (p.status!.podIP) p.status!.podIPs = [{ ip: p.status!.podIP }];
  }

  // Services: pinned addresses and ports first, then allocation.
  const nodePorts = new NodePortAllocator(rng.fork('nodeport'));
  for (const s of services) {
    if (s.spec.clusterIP && s.spec.clusterIP !== 'None') ips.reserve(s.spec.clusterIP);
    for (const p of s.spec.ports ?? []) if (p.nodePort !== undefined) nodePorts.reserve(p.nodePort);
    if (s.spec.healthCheckNodePort !== undefined) nodePorts.reserve(s.spec.healthCheckNodePort);
  }
  for (const s of services) {
    s.metadata.namespace ??= 'default';
    allocateService(s, ips, nodePorts);
  }

  // EndpointSlices: from selectors, mirrored from hand-written Endpoints, and given ones kept.
  const epsRng = rng.fork('endpointslice');
  const endpointSlices: EndpointSlice[] = byKind<EndpointSlice>('EndpointSlice');
  for (const s of services) {
    if (s.spec.type === 'ExternalName') continue;
    if (s.spec.selector && Object.keys(s.spec.selector).length) endpointSlices.push(...endpointSlicesFor(s, pods, epsRng));
  }
  for (const e of endpoints) {
    const svc = services.find((s) => nsOf(s) === nsOf(e) && s.metadata.name === e.metadata.name);
    const selectorless = !svc || !svc.spec.selector || Object.keys(svc.spec.selector).length === 0;
    const given = endpointSlices.some((sl) => nsOf(sl) === nsOf(e) && sl.metadata.labels?.[SERVICE_NAME] === e.metadata.name);
    if (!selectorless || given) continue;
    const mirrored = mirrorEndpoints(e, epsRng);
    // The apiserver keeps the `kubernetes` Service's slice itself, under the Service's own name.
    if (nsOf(e) === 'default' && e.metadata.name === 'kubernetes') for (const m of mirrored) m.metadata = { name: 'kubernetes', namespace: 'default', labels: { [SERVICE_NAME]: 'kubernetes' } };
    endpointSlices.push(...mirrored);
  }

  const namespaceNames = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
  const namespaces = byKind<Namespace>('Namespace');
  for (const n of namespaces) namespaceNames.delete(n.metadata.name);
  const used = new Set([...pods, ...services, ...configMaps].map(nsOf));
  for (const n of [...namespaceNames, ...[...used].filter((u) => !namespaces.some((x) => x.metadata.name === u))]) {
    if (!namespaces.some((x) => x.metadata.name === n)) namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });
  }

  return {
    cluster,
    nodes,
    namespaces,
    pods,
    services,
    endpoints,
    endpointSlices,
    configMaps,
    ingresses: byKind<Ingress>('Ingress'),
    ingressClasses: byKind<IngressClass>('IngressClass'),
    replicaSets,
    componentConfigs: objects.filter((o) => o.kind === 'KubeProxyConfiguration').map((o) => structuredClone(o)),
    pending,
  };
}
