// The fake node of upstream pkg/proxy/iptables/proxier_test.go NewFakeProxier: node
// "test-node" 192.168.0.2 (plus 192.168.1.2 and 192.168.99.11 on eth0), pod CIDR 10.0.0.0/8
// as the local-traffic detector, mark 0x4000 injected, localhost NodePorts on, both nfacct
// counters present, and a fake iptables without --random-fully.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { EndpointSlice, Service } from '../../../src/k8s/api/types.js';
import { MemoryIptables } from '../../../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../../../src/k8s/kube-proxy/config.js';
import { IptablesProxier } from '../../../src/k8s/kube-proxy/iptables.js';
import { parseDump } from '../../../src/k8s/kube-proxy/restore-dump.js';

export const TEST_NODE_NAME = 'test-node';
export const TEST_NODE_IP = '192.168.0.2';

export function newFakeProxier(opts: { randomFully?: boolean; nfacct?: boolean } = {}): { fp: IptablesProxier; ipt: MemoryIptables } {
  const ipt = new MemoryIptables(opts.randomFully ?? false);
  const fp = new IptablesProxier({
    nodeName: TEST_NODE_NAME,
    nodeIP: TEST_NODE_IP,
    config: kubeProxyConfig({ clusterCIDR: '10.0.0.0/8' }),
    backend: ipt,
    masqueradeMark: '0x4000',
    interfaceAddrs: ['127.0.0.1/8', '192.168.0.2/24', '192.168.1.2/24', '192.168.99.11/24'],
    nfacctCounters: { ctStateInvalidDropped: opts.nfacct ?? true, localhostNodePortsAccepted: opts.nfacct ?? true },
  });
  return { fp, ipt };
}

export function loadFixture(name: string): { services: Service[]; slices: EndpointSlice[] } {
  const text = readFileSync(new URL(`../../fixtures/kube-proxy/${name}`, import.meta.url), 'utf8');
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: string } | null;
    if (o?.kind === 'Service') services.push(o as Service);
    else if (o?.kind === 'EndpointSlice') slices.push(o as EndpointSlice);
  }
  return { services, slices };
}

export function makeService(namespace: string, name: string, spec: Service['spec'], status?: Service['status']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec, ...(status ? { status } : {}) };
}

export function makeSlice(namespace: string, svc: string, num: number, s: Pick<EndpointSlice, 'endpoints' | 'ports'>): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-${num}`, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ...s,
  };
}

/**
 * checkIPTablesRuleJumps from upstream: every jump goes to a created chain that has rules
 * (KUBE-NODEPORTS may be empty), and no created chain is unused.
 */
export function checkRuleJumps(data: string): string | null {
  const always = new Set(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-FORWARD', 'KUBE-MARK-MASQ', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL']);
  const builtin = new Set(['ACCEPT', 'REJECT', 'DROP', 'MARK', 'RETURN', 'DNAT', 'SNAT', 'MASQUERADE']);
  for (const t of parseDump(data)) {
    const created = new Set(t.chains.filter((c) => !c.deleted).map((c) => c.name));
    const filled = new Set(t.chains.filter((c) => c.rules.length > 0).map((c) => c.name));
    const jumped = new Set<string>();
    for (const c of t.chains) for (const r of c.rules) if (r.jump !== undefined && !builtin.has(r.jump)) jumped.add(r.jump);
    for (const j of jumped) if (!created.has(j)) return `${t.name}: ${j} used but not created`;
    for (const j of jumped) if (!filled.has(j) && j !== 'KUBE-NODEPORTS') return `${t.name}: ${j} jumped to but has no rules`;
    for (const c of created) if (!jumped.has(c) && !always.has(c)) return `${t.name}: ${c} created but not used`;
  }
  return null;
}
