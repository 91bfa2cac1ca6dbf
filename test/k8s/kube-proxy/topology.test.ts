// The table of upstream pkg/proxy/topology_test.go TestCategorizeEndpoints (as carried by
// Antrea's third_party copy), against categorizeEndpoints.
import { describe, expect, it } from 'vitest';
import type { Service } from '../../../src/k8s/api/types.js';
import type { EndpointInfo } from '../../../src/k8s/kube-proxy/endpoints.js';
import { newServicePortInfo, usesClusterEndpoints, usesLocalEndpoints } from '../../../src/k8s/kube-proxy/service-port.js';
import { categorizeEndpoints } from '../../../src/k8s/kube-proxy/topology.js';

function svcInfo(nodePort: number, externalPolicyLocal: boolean, internalPolicyLocal: boolean) {
  const svc: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'ns' },
    spec: {
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      type: nodePort !== 0 ? 'NodePort' : 'ClusterIP',
      externalTrafficPolicy: externalPolicyLocal ? 'Local' : 'Cluster',
      internalTrafficPolicy: internalPolicyLocal ? 'Local' : 'Cluster',
      ports: [{ port: 80, protocol: 'TCP', nodePort }],
    },
  };
  return newServicePortInfo(svc, 'IPv4', 0);
}

function ep(ip: string, isLocal: boolean, ready: boolean, serving: boolean, terminating: boolean, zoneHints?: string[], nodeHints?: string[]): EndpointInfo {
  return { ip, port: 80, endpoint: `${ip}:80`, isLocal, ready, serving, terminating, zoneHints, nodeHints, chainName: '' };
}

type Case = {
  name: string;
  preferSame?: boolean;
  nodeName?: string;
  zone?: string | null;
  svc: ReturnType<typeof svcInfo>;
  eps: EndpointInfo[];
  cluster: string[] | null;
  local: string[] | null;
  all?: string[];
};

const A = ['zone-a'];
const cases: Case[] = [
  {
    name: "should use topology since all endpoints have hints, node has a zone label and there are endpoints for the node's zone",
    zone: 'zone-a', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, A), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, true, true, false, A)],
    cluster: ['10.1.2.3:80', '10.1.2.6:80'], local: null,
  },
  {
    name: 'eTP: Local, topology ignored for Local endpoints',
    zone: 'zone-a', svc: svcInfo(8080, true, false),
    eps: [ep('10.1.2.3', true, true, true, false, A), ep('10.1.2.4', true, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, true, true, false, A)],
    cluster: ['10.1.2.3:80', '10.1.2.6:80'], local: ['10.1.2.3:80', '10.1.2.4:80'], all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
  },
  {
    name: 'iTP: Local, topology ignored for Local endpoints',
    zone: 'zone-a', svc: svcInfo(8080, false, true),
    eps: [ep('10.1.2.3', true, true, true, false, A), ep('10.1.2.4', true, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, true, true, false, A)],
    cluster: ['10.1.2.3:80', '10.1.2.6:80'], local: ['10.1.2.3:80', '10.1.2.4:80'], all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
  },
  { name: 'empty node labels', zone: null, svc: svcInfo(0, false, false), eps: [ep('10.1.2.3', false, true, true, false, A)], cluster: ['10.1.2.3:80'], local: null },
  { name: 'empty zone label', zone: '', svc: svcInfo(0, false, false), eps: [ep('10.1.2.3', false, true, true, false, A)], cluster: ['10.1.2.3:80'], local: null },
  {
    name: 'node in different zone, no endpoint filtering', zone: 'zone-b', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, A), ep('10.1.2.5', false, true, true, false, ['zone-c'])],
    cluster: ['10.1.2.3:80', '10.1.2.5:80'], local: null,
  },
  {
    name: 'unready endpoint', zone: 'zone-a', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, A), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, false, true, false, A)],
    cluster: ['10.1.2.3:80'], local: null,
  },
  {
    name: 'only unready endpoints in same zone (should not filter)', zone: 'zone-a', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, false, true, false, A), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, false, true, false, A)],
    cluster: ['10.1.2.4:80', '10.1.2.5:80'], local: null,
  },
  {
    name: 'missing hints, no filtering applied', zone: 'zone-a', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, A), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false), ep('10.1.2.6', false, true, true, false, A)],
    cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.5:80', '10.1.2.6:80'], local: null,
  },
  {
    name: 'multiple hints per endpoint, filtering includes any endpoint with zone included', zone: 'zone-c', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, ['zone-a', 'zone-b', 'zone-c']), ep('10.1.2.4', false, true, true, false, ['zone-b', 'zone-c']), ep('10.1.2.5', false, true, true, false, ['zone-b', 'zone-d']), ep('10.1.2.6', false, true, true, false, ['zone-c'])],
    cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'], local: null,
  },
  ...(['node-1', 'node-1'] as const).map((nodeName, i): Case => ({
    name: i === 0 ? 'PreferSameNode falls back to same-zone when feature gate disabled' : 'PreferSameNode available',
    preferSame: i === 1, nodeName, zone: 'zone-a', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, A, ['node-1']), ep('10.1.2.4', false, true, true, false, ['zone-b'], ['node-2']), ep('10.1.2.5', false, true, true, false, ['zone-c'], ['node-3']), ep('10.1.2.6', false, true, true, false, A, ['node-4'])],
    cluster: i === 0 ? ['10.1.2.3:80', '10.1.2.6:80'] : ['10.1.2.3:80'], local: null,
  })),
  {
    name: 'PreferSameNode ignored if some endpoints unhinted', preferSame: true, nodeName: 'node-1', zone: 'zone-a', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, A, ['node-1']), ep('10.1.2.4', false, true, true, false), ep('10.1.2.5', false, true, true, false, ['zone-c'], ['node-3']), ep('10.1.2.6', false, true, true, false, A, ['node-4'])],
    cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.5:80', '10.1.2.6:80'], local: null,
  },
  {
    name: 'PreferSameNode falls back to PreferSameZone if no endpoint for node', preferSame: true, nodeName: 'node-0', zone: 'zone-a', svc: svcInfo(0, false, false),
    eps: [ep('10.1.2.3', false, true, true, false, A, ['node-1']), ep('10.1.2.4', false, true, true, false, ['zone-b'], ['node-2']), ep('10.1.2.5', false, true, true, false, ['zone-c'], ['node-3']), ep('10.1.2.6', false, true, true, false, A, ['node-4'])],
    cluster: ['10.1.2.3:80', '10.1.2.6:80'], local: null,
  },
  {
    name: 'conflicting topology and localness require merging allEndpoints', zone: 'zone-a', svc: svcInfo(8080, false, true),
    eps: [ep('10.0.0.0', true, true, true, false, A), ep('10.0.0.1', true, true, true, false, ['zone-b']), ep('10.0.0.2', false, true, true, false, A), ep('10.0.0.3', false, true, true, false, ['zone-b'])],
    cluster: ['10.0.0.0:80', '10.0.0.2:80'], local: ['10.0.0.0:80', '10.0.0.1:80'], all: ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80'],
  },
  { name: 'internalTrafficPolicy: Local, with empty endpoints', svc: svcInfo(0, false, true), eps: [], cluster: null, local: [] },
  { name: 'internalTrafficPolicy: Local, but all endpoints are remote', svc: svcInfo(0, false, true), eps: [ep('10.0.0.0', false, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: null, local: [] },
  { name: 'internalTrafficPolicy: Local, all endpoints are local', svc: svcInfo(0, false, true), eps: [ep('10.0.0.0', true, true, true, false), ep('10.0.0.1', true, true, true, false)], cluster: null, local: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'internalTrafficPolicy: Local, some endpoints are local', svc: svcInfo(0, false, true), eps: [ep('10.0.0.0', true, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: null, local: ['10.0.0.0:80'] },
  { name: 'Cluster traffic policy, endpoints not Ready', svc: svcInfo(0, false, false), eps: [ep('10.0.0.0', false, false, true, false), ep('10.0.0.1', false, false, true, false)], cluster: [], local: null },
  { name: 'Cluster traffic policy, some endpoints are Ready', svc: svcInfo(0, false, false), eps: [ep('10.0.0.0', false, false, true, false), ep('10.0.0.1', false, true, true, false)], cluster: ['10.0.0.1:80'], local: null },
  { name: 'Cluster traffic policy, all endpoints are terminating', svc: svcInfo(0, false, false), eps: [ep('10.0.0.0', false, false, true, true), ep('10.0.0.1', false, false, true, true)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: null },
  { name: 'iTP: Local, eTP: Cluster, some endpoints local', svc: svcInfo(8080, false, true), eps: [ep('10.0.0.0', true, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: ['10.0.0.0:80'], all: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'iTP: Cluster, eTP: Local, some endpoints local', svc: svcInfo(8080, true, false), eps: [ep('10.0.0.0', true, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: ['10.0.0.0:80'], all: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'iTP: Local, eTP: Local, some endpoints local', svc: svcInfo(8080, true, true), eps: [ep('10.0.0.0', true, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: ['10.0.0.0:80'], all: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'iTP: Local, eTP: Local, all endpoints remote', svc: svcInfo(8080, true, true), eps: [ep('10.0.0.0', false, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: [], all: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'iTP: Local, eTP: Local, all endpoints remote and terminating', svc: svcInfo(8080, true, true), eps: [ep('10.0.0.0', false, false, true, true), ep('10.0.0.1', false, false, true, true)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: [], all: ['10.0.0.0:80', '10.0.0.1:80'] },
  {
    name: 'iTP: Cluster, eTP: Local, with terminating endpoints', svc: svcInfo(8080, true, false),
    eps: [ep('10.0.0.0', false, true, true, false), ep('10.0.0.1', true, false, false, false), ep('10.0.0.2', true, false, true, true), ep('10.0.0.3', false, false, true, true)],
    cluster: ['10.0.0.0:80'], local: ['10.0.0.2:80'], all: ['10.0.0.0:80', '10.0.0.2:80'],
  },
  { name: 'eTP ignored if not externally accessible', svc: svcInfo(0, true, false), eps: [ep('10.0.0.0', false, true, true, false), ep('10.0.0.1', true, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: null, all: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'no cluster endpoints for iTP:Local internal-only service', svc: svcInfo(0, false, true), eps: [ep('10.0.0.0', false, true, true, false), ep('10.0.0.1', true, true, true, false)], cluster: null, local: ['10.0.0.1:80'], all: ['10.0.0.1:80'] },
  { name: 'externalTrafficPolicy: Local, externally accessible, with empty endpoints', svc: svcInfo(8080, true, false), eps: [], cluster: [], local: [] },
  { name: 'externalTrafficPolicy: Local, externally accessible, but all endpoints are remote', svc: svcInfo(8080, true, false), eps: [ep('10.0.0.0', false, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: [], all: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'externalTrafficPolicy: Local, externally accessible, all endpoints are local', svc: svcInfo(8080, true, false), eps: [ep('10.0.0.0', true, true, true, false), ep('10.0.0.1', true, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: ['10.0.0.0:80', '10.0.0.1:80'], all: ['10.0.0.0:80', '10.0.0.1:80'] },
  { name: 'externalTrafficPolicy: Local, externally accessible, some endpoints are local', svc: svcInfo(8080, true, false), eps: [ep('10.0.0.0', true, true, true, false), ep('10.0.0.1', false, true, true, false)], cluster: ['10.0.0.0:80', '10.0.0.1:80'], local: ['10.0.0.0:80'], all: ['10.0.0.0:80', '10.0.0.1:80'] },
];

describe('CategorizeEndpoints (upstream table)', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const labels = tc.zone === undefined || tc.zone === null ? undefined : { 'topology.kubernetes.io/zone': tc.zone };
      const r = categorizeEndpoints(tc.eps, tc.svc, {
        nodeName: tc.nodeName ?? '',
        ...(labels !== undefined ? { nodeLabels: labels } : {}),
        preferSameTrafficDistribution: tc.preferSame ?? false,
      });
      const names = (l: EndpointInfo[]) => l.map((e) => e.endpoint).sort();
      // nil in the Go table means "this policy is never used by the service".
      expect(usesClusterEndpoints(tc.svc)).toBe(tc.cluster !== null);
      expect(usesLocalEndpoints(tc.svc)).toBe(tc.local !== null);
      expect(names(r.clusterEndpoints)).toEqual(tc.cluster ?? []);
      expect(names(r.localEndpoints)).toEqual(tc.local ?? []);
      const all = tc.cluster !== null && tc.local === null ? tc.cluster : tc.local !== null && tc.cluster === null ? tc.local : (tc.all ?? []);
      expect(names(r.allReachableEndpoints)).toEqual([...all].sort());
    });
  }
});
