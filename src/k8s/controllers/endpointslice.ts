import type { Random } from '../../sim/random.js';
import type { Endpoint, EndpointPort, EndpointSlice, Endpoints, Pod, Service } from '../api/types.js';
import { matchesSet } from './labels.js';
import { randomSuffix } from './names.js';

export const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const SERVICE_NAME = 'kubernetes.io/service-name';
const MAX_ENDPOINTS_PER_SLICE = 100;

function podReady(p: Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** A Service port's target on one pod: a number, or a container port looked up by name. */
function resolveTargetPort(svcPort: NonNullable<Service['spec']['ports']>[number], pod: Pod): number | undefined {
  const t = svcPort.targetPort ?? svcPort.port;
  if (typeof t === 'number') return t;
  for (const c of pod.spec.containers) for (const cp of c.ports ?? []) if (cp.name === t && (cp.protocol ?? 'TCP') === (svcPort.protocol ?? 'TCP')) return cp.containerPort;
  return undefined;
}

/**
 * The EndpointSlice controller for one Service with a selector: one endpoint per pod that
 * matches and has an IP, grouped into slices by their resolved port set, at most 100 per slice,
 * named by generateName `<service>-<5 chars>`.
 */
export function endpointSlicesFor(svc: Service, pods: readonly Pod[], rng: Random): EndpointSlice[] {
  const ns = svc.metadata.namespace ?? 'default';
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  for (const p of pods) {
    if ((p.metadata.namespace ?? 'default') !== ns || !matchesSet(svc.spec.selector, p.metadata.labels)) continue;
    const ip = p.status?.podIP;
    if (!ip || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const port = resolveTargetPort(sp, p);
      if (port === undefined) continue;
      ports.push({ name: sp.name ?? '', protocol: sp.protocol ?? 'TCP', port });
    }
    const key = JSON.stringify(ports);
    const g = groups.get(key) ?? { ports, endpoints: [] };
    groups.set(key, g);
    const terminating = p.metadata.deletionTimestamp !== undefined;
    const ready = !terminating && (podReady(p) || svc.spec.publishNotReadyAddresses === true);
    const serving = podReady(p) || svc.spec.publishNotReadyAddresses === true;
    const ep: Endpoint = {
      addresses: [ip],
      conditions: { ready, serving, terminating },
      ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name },
    };
    // The hostname field is set only when the pod's subdomain is this Service (DNS spec).
    if (p.spec.hostname && p.spec.subdomain === svc.metadata.name) ep.hostname = p.spec.hostname;
    g.endpoints.push(ep);
  }
  const slices: EndpointSlice[] = [];
  const emit = (ports: EndpointPort[], endpoints: Endpoint[]): void => {
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${svc.metadata.name}-${randomSuffix(rng)}`,
        generateName: `${svc.metadata.name}-`,
        namespace: ns,
        labels: { [SERVICE_NAME]: svc.metadata.name, [MANAGED_BY]: 'endpointslice-controller.k8s.io' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, controller: true }],
      },
      addressType: 'IPv4',
      endpoints,
      ports,
    });
  };
  for (const g of groups.values()) {
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) emit(g.ports, g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE));
  }
  // A Service whose selector matches nothing still gets one empty slice.
  if (slices.length === 0) emit((svc.spec.ports ?? []).map((sp) => ({ name: sp.name ?? '', protocol: sp.protocol ?? 'TCP', port: typeof sp.targetPort === 'number' ? sp.targetPort : sp.port })), []);
  return slices;
}

/**
 * The EndpointSlice mirroring controller: hand-written Endpoints of a Service without a
 * selector (the seed's `laosiji`) become a slice with the same addresses and ports.
 */
export function mirrorEndpoints(ep: Endpoints, rng: Random): EndpointSlice[] {
  const ns = ep.metadata.namespace ?? 'default';
  return (ep.subsets ?? []).map((s) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${ep.metadata.name}-${randomSuffix(rng)}`,
      generateName: `${ep.metadata.name}-`,
      namespace: ns,
      labels: { [SERVICE_NAME]: ep.metadata.name, [MANAGED_BY]: 'endpointslicemirroring-controller.k8s.io' },
    },
    addressType: 'IPv4' as const,
    endpoints: [
      ...(s.addresses ?? []).map((a) => ({ addresses: [a.ip], conditions: { ready: true }, ...(a.hostname ? { hostname: a.hostname } : {}), ...(a.nodeName ? { nodeName: a.nodeName } : {}), ...(a.targetRef ? { targetRef: a.targetRef } : {}) })),
      ...(s.notReadyAddresses ?? []).map((a) => ({ addresses: [a.ip], conditions: { ready: false }, ...(a.hostname ? { hostname: a.hostname } : {}), ...(a.nodeName ? { nodeName: a.nodeName } : {}) })),
    ],
    ports: (s.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', ...(p.port !== undefined ? { port: p.port } : {}) })),
  }));
}
