import { FieldReader, type Path } from './fields.js';
import { LIMITS } from './source.js';

/** Kinds a scenario may hold, with the apiVersion each is served under. */
export const KINDS: Record<string, readonly string[]> = {
  Cluster: ['kubewire.dev/v1alpha1'],
  Namespace: ['v1'],
  Pod: ['v1'],
  Service: ['v1'],
  Endpoints: ['v1'],
  ConfigMap: ['v1'],
  List: ['v1'],
  Deployment: ['apps/v1'],
  ReplicaSet: ['apps/v1'],
  StatefulSet: ['apps/v1'],
  DaemonSet: ['apps/v1'],
  EndpointSlice: ['discovery.k8s.io/v1'],
  Ingress: ['networking.k8s.io/v1'],
  IngressClass: ['networking.k8s.io/v1'],
  NetworkPolicy: ['networking.k8s.io/v1'],
  KubeProxyConfiguration: ['kubeproxy.config.k8s.io/v1alpha1'],
};

const NAMESPACED = new Set(['Pod', 'Service', 'Endpoints', 'ConfigMap', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'EndpointSlice', 'Ingress', 'NetworkPolicy']);
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A manifest as loaded: the plain object, and where it came from (for later messages). */
export interface Manifest {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly object: Record<string, unknown>;
  readonly reader: FieldReader;
  readonly path: Path;
}

/**
 * Checks one document (expanding a List into its items) and answers its manifests.
 * Problems go to the reader's diagnostics.
 */
export function readManifests(r: FieldReader, path: Path = []): Manifest[] {
  const m = r.map(path);
  if (!m) return [];
  const kind = r.str([...path, 'kind'], { required: true });
  const apiVersion = r.str([...path, 'apiVersion'], { required: true });
  if (kind === undefined || apiVersion === undefined) return [];
  const versions = KINDS[kind];
  if (!versions) {
    r.error([...path, 'kind'], `unknown kind "${kind}" (known: ${Object.keys(KINDS).sort().join(', ')})`);
    return [];
  }
  if (!versions.includes(apiVersion)) {
    r.error([...path, 'apiVersion'], `kind ${kind} is served as apiVersion ${versions.join(' or ')}, not "${apiVersion}"`);
    return [];
  }
  if (kind === 'List') {
    if (path.length) {
      r.error([...path, 'kind'], 'a List cannot hold another List');
      return [];
    }
    const items = r.list(['items'], { required: true, max: LIMITS.documents }) ?? [];
    return items.flatMap((_, i) => readManifests(r, ['items', i]));
  }
  if (kind === 'Cluster') return []; // read by readCluster
  const needsName = kind !== 'KubeProxyConfiguration';
  const name = r.str([...path, 'metadata', 'name'], { required: needsName }) ?? (needsName ? undefined : 'kube-proxy');
  if (name === undefined) return [];
  if (needsName && !DNS1123_SUBDOMAIN.test(name)) {
    r.error([...path, 'metadata', 'name'], `metadata.name "${name}" is not a valid DNS-1123 subdomain (lower case alphanumerics, '-' and '.')`);
  }
  if ((kind === 'Service' || kind === 'Namespace') && !DNS1123_LABEL.test(name)) {
    r.error([...path, 'metadata', 'name'], `${kind} name "${name}" must be a DNS-1123 label`);
  }
  const ns = NAMESPACED.has(kind) ? (r.str([...path, 'metadata', 'namespace']) ?? 'default') : undefined;
  r.stringMap([...path, 'metadata', 'labels']);
  r.stringMap([...path, 'metadata', 'annotations']);
  CHECKS[kind]?.(r, path);
  return [{ kind, namespace: ns, name, object: m, reader: r, path }];
}

type Check = (r: FieldReader, p: Path) => void;

function checkPorts(r: FieldReader, p: Path, field: string, portKey: string, requiredPort: boolean): void {
  (r.list([...p, field], { max: 1000 }) ?? []).forEach((_, i) => {
    const P = [...p, field, i];
    r.int([...P, portKey], { required: requiredPort, min: 1, max: 65535 });
    r.str([...P, 'protocol'], { oneOf: ['TCP', 'UDP', 'SCTP'] });
    r.str([...P, 'name']);
  });
}

function checkPodSpec(r: FieldReader, p: Path): void {
  r.map(p, { required: true });
  const containers = r.list([...p, 'containers'], { required: true, max: 100 }) ?? [];
  containers.forEach((_, i) => {
    r.str([...p, 'containers', i, 'name'], { required: true });
    checkPorts(r, [...p, 'containers', i], 'ports', 'containerPort', true);
  });
  r.str([...p, 'nodeName']);
  r.stringMap([...p, 'nodeSelector']);
  r.bool([...p, 'hostNetwork']);
  r.str([...p, 'dnsPolicy'], { oneOf: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] });
  if (r.get([...p, 'dnsPolicy']) === 'None' && !r.has([...p, 'dnsConfig'])) r.error([...p, 'dnsPolicy'], 'dnsPolicy None needs spec.dnsConfig');
}

function checkWorkload(withReplicas: boolean): Check {
  return (r, p) => {
    r.map([...p, 'spec'], { required: true });
    if (withReplicas) r.int([...p, 'spec', 'replicas'], { min: 0, max: LIMITS.replicas });
    r.map([...p, 'spec', 'selector'], { required: true });
    r.stringMap([...p, 'spec', 'selector', 'matchLabels']);
    r.stringMap([...p, 'spec', 'template', 'metadata', 'labels']);
    checkPodSpec(r, [...p, 'spec', 'template', 'spec']);
    const sel = r.get([...p, 'spec', 'selector', 'matchLabels']) as Record<string, string> | undefined;
    const labels = (r.get([...p, 'spec', 'template', 'metadata', 'labels']) ?? {}) as Record<string, string>;
    if (sel) {
      for (const [k, v] of Object.entries(sel)) {
        if (labels[k] !== v) r.error([...p, 'spec', 'selector', 'matchLabels', k], `selector ${k}=${v} does not match the pod template's labels`);
      }
    }
  };
}

const CHECKS: Record<string, Check> = {
  Pod: (r, p) => {
    checkPodSpec(r, [...p, 'spec']);
    r.ipv4([...p, 'status', 'podIP']);
  },
  Service: (r, p) => {
    r.map([...p, 'spec'], { required: true });
    const type = r.str([...p, 'spec', 'type'], { oneOf: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] });
    if (type === 'ExternalName') r.str([...p, 'spec', 'externalName'], { required: true });
    else if (r.get([...p, 'spec', 'clusterIP']) !== 'None' && r.get([...p, 'spec', 'clusterIP']) !== undefined) r.ipv4([...p, 'spec', 'clusterIP']);
    checkPorts(r, [...p, 'spec'], 'ports', 'port', true);
    (r.list([...p, 'spec', 'ports']) ?? []).forEach((_, i) => {
      r.int([...p, 'spec', 'ports', i, 'nodePort'], { min: 1, max: 65535 });
      if (type !== 'NodePort' && type !== 'LoadBalancer' && r.has([...p, 'spec', 'ports', i, 'nodePort'])) {
        r.error([...p, 'spec', 'ports', i, 'nodePort'], `nodePort is only allowed for type NodePort or LoadBalancer`);
      }
    });
    const ports = (r.get([...p, 'spec', 'ports']) ?? []) as unknown[];
    if (ports.length > 1) ports.forEach((_, i) => { if (!r.has([...p, 'spec', 'ports', i, 'name'])) r.error([...p, 'spec', 'ports', i], 'ports of a multi-port Service must be named'); });
    r.stringMap([...p, 'spec', 'selector']);
    r.str([...p, 'spec', 'sessionAffinity'], { oneOf: ['None', 'ClientIP'] });
    r.str([...p, 'spec', 'externalTrafficPolicy'], { oneOf: ['Cluster', 'Local'] });
    r.str([...p, 'spec', 'internalTrafficPolicy'], { oneOf: ['Cluster', 'Local'] });
    (r.list([...p, 'spec', 'externalIPs']) ?? []).forEach((_, i) => r.ipv4([...p, 'spec', 'externalIPs', i]));
    (r.list([...p, 'spec', 'loadBalancerSourceRanges']) ?? []).forEach((_, i) => r.cidr([...p, 'spec', 'loadBalancerSourceRanges', i]));
  },
  Endpoints: (r, p) => {
    (r.list([...p, 'subsets']) ?? []).forEach((_, i) => {
      (r.list([...p, 'subsets', i, 'addresses']) ?? []).forEach((_, j) => r.ipv4([...p, 'subsets', i, 'addresses', j, 'ip'], { required: true }));
      (r.list([...p, 'subsets', i, 'notReadyAddresses']) ?? []).forEach((_, j) => r.ipv4([...p, 'subsets', i, 'notReadyAddresses', j, 'ip'], { required: true }));
      checkPorts(r, [...p, 'subsets', i], 'ports', 'port', true);
    });
  },
  EndpointSlice: (r, p) => {
    r.str([...p, 'addressType'], { required: true, oneOf: ['IPv4', 'IPv6', 'FQDN'] });
    (r.list([...p, 'endpoints'], { required: true }) ?? []).forEach((_, i) => {
      (r.list([...p, 'endpoints', i, 'addresses'], { required: true }) ?? []).forEach((_, j) => {
        if (r.get([...p, 'addressType']) === 'IPv4') r.ipv4([...p, 'endpoints', i, 'addresses', j]);
      });
    });
    checkPorts(r, p, 'ports', 'port', false);
    if (!r.has([...p, 'metadata', 'labels', 'kubernetes.io/service-name'])) r.warn([...p, 'metadata'], 'EndpointSlice has no kubernetes.io/service-name label: no Service will use it');
  },
  Deployment: checkWorkload(true),
  ReplicaSet: checkWorkload(true),
  StatefulSet: (r, p) => {
    checkWorkload(true)(r, p);
    r.str([...p, 'spec', 'serviceName']);
  },
  DaemonSet: checkWorkload(false),
  ConfigMap: (r, p) => {
    r.stringMap([...p, 'data']);
  },
  Ingress: (r, p) => {
    r.map([...p, 'spec'], { required: true });
    (r.list([...p, 'spec', 'rules']) ?? []).forEach((_, i) => {
      r.str([...p, 'spec', 'rules', i, 'host']);
      (r.list([...p, 'spec', 'rules', i, 'http', 'paths']) ?? []).forEach((_, j) => {
        const P = [...p, 'spec', 'rules', i, 'http', 'paths', j];
        r.str([...P, 'pathType'], { required: true, oneOf: ['Exact', 'Prefix', 'ImplementationSpecific'] });
        r.str([...P, 'backend', 'service', 'name'], { required: true });
        if (!r.has([...P, 'backend', 'service', 'port', 'number']) && !r.has([...P, 'backend', 'service', 'port', 'name'])) {
          r.error([...P, 'backend', 'service'], 'backend.service.port needs a number or a name');
        }
      });
    });
  },
  IngressClass: (r, p) => {
    r.str([...p, 'spec', 'controller'], { required: true });
  },
  KubeProxyConfiguration: (r, p) => {
    r.str([...p, 'mode'], { oneOf: ['', 'iptables', 'ipvs', 'nftables'] });
    r.cidr([...p, 'clusterCIDR']);
    r.str([...p, 'ipvs', 'scheduler'], { oneOf: ['', 'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh'] });
    r.int([...p, 'iptables', 'masqueradeBit'], { min: 0, max: 31 });
  },
};
