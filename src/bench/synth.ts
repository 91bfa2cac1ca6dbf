/**
 * Synthetic Services and EndpointSlices for the benchmark, shaped as kernel-costs.md §0's
 * gen_kp.py makes them: N ClusterIP Services `bench/svc-NNNNN`, each with P TCP ports and E
 * ready endpoints on another node. Addresses are disjoint ranges so no Service, endpoint or
 * client address collides at any size the CLI accepts (up to 500,000 Services x 8 endpoints).
 */
import type { EndpointSlice, Service } from '../k8s/api/types.js';
import { formatIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';

/** Service CIDR 10.96.0.0/12 (kubeadm's default); ClusterIP i is 10.96.0.0 + 1 + i. */
export const SERVICE_BASE = 0x0a600000;
/** Endpoints live in 10.40.0.0/13, pod CIDRs of the other nodes (reached through eth0). */
export const ENDPOINT_BASE = 0x0a280000;
/** The benchmark node's own pod CIDR; the client pod is 10.32.0.2. */
export const CLUSTER_CIDR = '10.32.0.0/11';
export const NODE_POD_CIDR = '10.32.0.0/24';
export const MAX_SERVICES = 500_000;
export const MAX_ENDPOINTS = 8;
export const MAX_PORTS = 8;

export interface SynthOptions {
  services: number;
  endpointsPerService: number;
  portsPerService: number;
  /** Index of the first Service (a partial sync adds Service `start + services`). */
  start?: number;
}

export function clusterIP(i: number): Ipv4Addr {
  return (SERVICE_BASE + 1 + i) >>> 0 as Ipv4Addr;
}

export function endpointIP(i: number, k: number, perService: number): Ipv4Addr {
  return (ENDPOINT_BASE + i * perService + k) >>> 0 as Ipv4Addr;
}

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}`;
}

export const portName = (j: number): string => (j === 0 ? 'http' : `http-${j}`);
export const servicePort = (j: number): number => 80 + j;
export const targetPort = (j: number): number => 8080 + j;

/** Service i and its one EndpointSlice. */
export function syntheticService(i: number, endpoints: number, ports: number): { service: Service; slice: EndpointSlice } {
  const name = serviceName(i);
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'bench' },
    spec: {
      type: 'ClusterIP',
      clusterIP: formatIpv4(clusterIP(i)),
      clusterIPs: [formatIpv4(clusterIP(i))],
      selector: { app: name },
      ports: Array.from({ length: ports }, (_, j) => ({ name: portName(j), protocol: 'TCP' as const, port: servicePort(j), targetPort: targetPort(j) })),
    },
  };
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-bench`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: endpoints }, (_, k) => ({
      addresses: [formatIpv4(endpointIP(i, k, endpoints))],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'bench-other',
    })),
    ports: Array.from({ length: ports }, (_, j) => ({ name: portName(j), protocol: 'TCP' as const, port: targetPort(j) })),
  };
  return { service, slice };
}

export function syntheticCluster(o: SynthOptions): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  const start = o.start ?? 0;
  for (let i = start; i < start + o.services; i++) {
    const { service, slice } = syntheticService(i, o.endpointsPerService, o.portsPerService);
    services.push(service);
    slices.push(slice);
  }
  return { services, slices };
}
