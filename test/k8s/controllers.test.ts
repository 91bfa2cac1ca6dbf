import { describe, expect, it } from 'vitest';
import { buildClusterState } from '../../src/k8s/controllers/cluster-state.js';
import { K8S_ALPHANUMS, safeEncodeString } from '../../src/k8s/controllers/names.js';
import { HostLocalRange } from '../../src/k8s/controllers/pod-ipam.js';
import { formatResolvConf, parseResolvConf, podResolvConf } from '../../src/k8s/kubelet/resolv-conf.js';
import { loadScenarioFile, loadScenarioText } from '../../src/scenario/load.js';
import type { Pod } from '../../src/k8s/api/types.js';

const seedPath = new URL('../../scenarios/seed.yaml', import.meta.url).pathname;
const state = (text: string) => {
  const s = loadScenarioText('t.yaml', text);
  return buildClusterState(s.cluster, s.manifests.map((m) => m.object));
};
const CLUSTER = `apiVersion: kubewire.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  cni: flannel
  underlay: {cidr: 192.168.4.0/24, gateway: 192.168.4.1}
  nodes:
    - {name: n1, ip: 192.168.4.10}
    - {name: n2, ip: 192.168.4.11, labels: {disk: ssd}}
`;
const DEPLOY = `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
`;

describe('controllers', () => {
  it('names Deployment pods <deploy>-<pod-template-hash>-<5 chars> like the controllers do', () => {
    const st = state(CLUSTER + DEPLOY);
    const web = st.pods.filter((p) => p.metadata.labels?.app === 'web');
    expect(web).toHaveLength(3);
    const hash = web[0]!.metadata.labels!['pod-template-hash']!;
    // SafeEncodeString of a decimal uint32: only the images of '0'..'9'.
    expect(hash).toMatch(/^[456789bcdf]{1,10}$/);
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
    for (const p of web) expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[${K8S_ALPHANUMS}]{5}$`));
    expect(st.replicaSets.map((r) => r.metadata.name)).toContain(`web-${hash}`);
  });

  it('is deterministic for the same scenario and seed, and changes with the seed', () => {
    const a = state(CLUSTER + DEPLOY).pods.map((p) => p.metadata.name);
    const b = state(CLUSTER + DEPLOY).pods.map((p) => p.metadata.name);
    const c = state(CLUSTER.replace('cni: flannel', 'cni: flannel\n  seed: 99') + DEPLOY).pods.map((p) => p.metadata.name);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('spreads pods over nodes, honours nodeSelector, allocates host-local IPs from .2', () => {
    const st = state(CLUSTER + DEPLOY + `---
apiVersion: v1
kind: Pod
metadata: {name: fast, namespace: shop}
spec: {nodeSelector: {disk: ssd}, containers: [{name: c}]}
`);
    const web = st.pods.filter((p) => p.metadata.namespace === 'shop' && p.metadata.labels?.app === 'web');
    expect(st.pods.find((p) => p.metadata.name === 'fast')!.spec.nodeName).toBe('n2');
    const perNode = new Map<string, number>();
    for (const p of st.pods) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    expect(Math.abs(perNode.get('n1')! - perNode.get('n2')!)).toBeLessThanOrEqual(1);
    const n1ips = st.pods.filter((p) => p.spec.nodeName === 'n1').map((p) => p.status!.podIP);
    expect(n1ips[0]).toBe('10.42.0.2');
    expect(web.every((p) => /^10\.42\.[01]\.\d+$/.test(p.status!.podIP!))).toBe(true);
  });

  it('StatefulSet pods are name-N with hostname and subdomain; DaemonSets put one pod on each node', () => {
    const st = state(CLUSTER + `---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c}]}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: c}]}}
`);
    const db = st.pods.filter((p) => p.metadata.labels?.app === 'db');
    expect(db.map((p) => [p.metadata.name, p.spec.hostname, p.spec.subdomain])).toEqual([['db-0', 'db-0', 'db'], ['db-1', 'db-1', 'db']]);
    const agents = st.pods.filter((p) => p.metadata.labels?.app === 'agent');
    expect(agents.map((p) => p.spec.nodeName)).toEqual(['n1', 'n2']);
    for (const a of agents) expect(a.metadata.name).toMatch(/^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('EndpointSlices resolve named target ports; a selector-less Service mirrors its Endpoints', () => {
    const st = state(CLUSTER + DEPLOY);
    const slice = st.endpointSlices.find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'web')!;
    expect(slice.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(slice.ports).toEqual([{ name: '', protocol: 'TCP', port: 8080 }]);
    expect(slice.endpoints).toHaveLength(3);
    expect(slice.endpoints[0]!.conditions).toEqual({ ready: true, serving: true, terminating: false });
    const k = st.endpointSlices.find((s) => s.metadata.name === 'kubernetes')!;
    expect(k.endpoints[0]!.addresses).toEqual(['192.168.4.10']);
    expect(st.services.find((s) => s.metadata.name === 'kubernetes')!.spec.clusterIP).toBe('10.43.0.1');
    expect(st.services.find((s) => s.metadata.name === 'kube-dns')!.spec.clusterIP).toBe('10.43.0.10');
  });

  it('host-local skips the gateway and taken addresses and wraps', () => {
    const r = new HostLocalRange('10.42.7.0/29');
    r.reserve('10.42.7.3');
    expect([r.allocate(), r.allocate(), r.allocate(), r.allocate(), r.allocate()]).toEqual(['10.42.7.2', '10.42.7.4', '10.42.7.5', '10.42.7.6', undefined]);
  });
});

describe('the seed cluster', () => {
  const s = loadScenarioFile(seedPath);
  const st = buildClusterState(s.cluster, s.manifests.map((m) => m.object));
  const pod = (ns: string, name: string): Pod => st.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name)!;

  it('keeps the pinned pods and gives backend-service its two endpoints', () => {
    expect(pod('k8s', 'k8s-xxx-648c86cd45-qbhj9').status!.podIP).toBe('10.42.4.15');
    const slice = st.endpointSlices.find((e) => e.metadata.labels?.['kubernetes.io/service-name'] === 'backend-service')!;
    expect(slice.endpoints.map((e) => e.addresses[0]).sort()).toEqual(['10.42.0.134', '10.42.3.171']);
    const ch = st.endpointSlices.find((e) => e.metadata.labels?.['kubernetes.io/service-name'] === 'clickhouse-service')!;
    expect(ch.endpoints.map((e) => e.addresses[0])).toEqual(['192.168.4.86', '192.168.4.87', '192.168.4.88', '192.168.4.89', '192.168.4.90', '192.168.4.91']);
    const laosiji = st.endpointSlices.find((e) => e.metadata.labels?.['kubernetes.io/service-name'] === 'laosiji')!;
    expect(laosiji.metadata.labels!['endpointslice.kubernetes.io/managed-by']).toBe('endpointslicemirroring-controller.k8s.io');
    expect(laosiji.endpoints[0]!.addresses).toEqual(['192.168.4.86']);
  });

  it("writes the seed's /etc/resolv.conf for a pod in namespace k8s", () => {
    const node = parseResolvConf(s.cluster.spec.nodes[2]!.resolvConf!);
    const rc = podResolvConf(pod('k8s', 'backend-service-555d6684b5-9kwc7'), '10.43.0.10', 'cluster.local', node);
    expect(formatResolvConf(rc, 'docker')).toBe('nameserver 10.43.0.10\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    expect(formatResolvConf(rc, 'containerd')).toBe('search k8s.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n');
  });

  it('host-network pods with ClusterFirst use the node file; ClusterFirstWithHostNet the cluster DNS', () => {
    const node = parseResolvConf('nameserver 192.168.4.2\nsearch corp.example\noptions timeout:1\n');
    const p = pod('clickhouse', 'clickhouse-1-1-0');
    expect(podResolvConf(p, '10.43.0.10', 'cluster.local', node).nameservers).toEqual(['10.43.0.10']);
    const plain: Pod = { ...p, spec: { ...p.spec, dnsPolicy: 'ClusterFirst' } };
    expect(podResolvConf(plain, '10.43.0.10', 'cluster.local', node)).toEqual(node);
    const withCfg: Pod = { ...p, spec: { ...p.spec, hostNetwork: false, dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], options: [{ name: 'ndots', value: '2' }] } } };
    expect(formatResolvConf(podResolvConf(withCfg, '10.43.0.10', 'cluster.local', node), 'containerd')).toBe('nameserver 1.1.1.1\noptions ndots:2\n');
  });
});
