import { describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/k8s/api/types.js';
import { podDnsConfig, renderResolvConf } from '../../../src/apps/resolver/pod-dns.js';

const kubelet = { clusterDNS: ['10.43.0.10'], clusterDomain: 'cluster.local', nodeResolvConf: 'nameserver 192.168.4.1\nsearch corp.example\noptions timeout:2 attempts:3\n' };
const pod = (spec: Partial<Pod['spec']>, namespace = 'k8s'): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec: { containers: [{ name: 'c' }], ...spec } });

describe('pod /etc/resolv.conf (kubelet dnsPolicy table)', () => {
  it('ClusterFirst: cluster DNS, namespace search list + node search, ndots:5 only', () => {
    const c = podDnsConfig(pod({}), kubelet);
    expect(c).toEqual({ nameservers: ['10.43.0.10'], searches: ['k8s.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'], options: ['ndots:5'] });
  });
  it('renders as seed 000 shows it (docker runtime: nameserver first) and as containerd writes it', () => {
    const c = podDnsConfig(pod({}), { ...kubelet, nodeResolvConf: 'nameserver 192.168.4.1\n' });
    expect(renderResolvConf(c, 'docker')).toBe('nameserver 10.43.0.10\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    expect(renderResolvConf(c)).toBe('search k8s.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n');
  });
  it('hostNetwork with ClusterFirst falls back to Default (the node file); ClusterFirstWithHostNet keeps cluster DNS', () => {
    expect(podDnsConfig(pod({ hostNetwork: true }), kubelet)).toEqual({ nameservers: ['192.168.4.1'], searches: ['corp.example'], options: ['timeout:2', 'attempts:3'] });
    expect(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), kubelet).nameservers).toEqual(['10.43.0.10']);
  });
  it('None takes only dnsConfig; options merge by name with the pod winning', () => {
    expect(podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }] } }), kubelet)).toEqual({
      nameservers: ['1.1.1.1'],
      searches: ['a.example'],
      options: ['ndots:2'],
    });
    expect(podDnsConfig(pod({ dnsConfig: { options: [{ name: 'ndots', value: '1' }, { name: 'single-request-reopen' }] } }), kubelet).options).toEqual(['ndots:1', 'single-request-reopen']);
  });
});
