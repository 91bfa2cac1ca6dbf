/** Small builders for the Kubernetes objects the ingress tests feed the controller. */
import type { EndpointSlice, HTTPIngressPath, Ingress, IngressClass, Service } from '../../../src/k8s/api/types.js';

export function ingressClass(name: string, opts: { controller?: string; isDefault?: boolean } = {}): IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, ...(opts.isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
    spec: { controller: opts.controller ?? 'k8s.io/ingress-nginx' },
  };
}

export function service(ns: string, name: string, clusterIP: string, port: number, targetPort: number): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP, ports: [{ port, targetPort, protocol: 'TCP' }] } };
}

export function slice(ns: string, svc: string, port: number, ips: readonly (string | { ip: string; ready: boolean })[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ port, protocol: 'TCP' }],
    endpoints: ips.map((x) => {
      const ip = typeof x === 'string' ? x : x.ip;
      const ready = typeof x === 'string' ? true : x.ready;
      return { addresses: [ip], conditions: { ready }, targetRef: { kind: 'Pod', namespace: ns, name: `${svc}-${ip.split('.').join('-')}` } };
    }),
  };
}

export function path(p: string, pathType: HTTPIngressPath['pathType'], svc: string, port: number): HTTPIngressPath {
  return { path: p, pathType, backend: { service: { name: svc, port: { number: port } } } };
}

export function ingress(ns: string, name: string, rules: { host?: string; paths: HTTPIngressPath[] }[], opts: { annotations?: Record<string, string>; className?: string } = {}): Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: ns, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      ...(opts.className ? { ingressClassName: opts.className } : {}),
      rules: rules.map((r) => ({ ...(r.host !== undefined ? { host: r.host } : {}), http: { paths: r.paths } })),
    },
  };
}
