import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubeProxyConfigError, kubeProxyConfig, masqueradeMark, parseDurationNs, type KubeProxyConfigurationDoc } from '../../../src/k8s/kube-proxy/config.js';

describe('KubeProxyConfiguration', () => {
  it('applies upstream defaults', () => {
    const c = kubeProxyConfig();
    expect(c).toMatchObject({
      mode: 'iptables',
      clusterCIDR: '',
      masqueradeBit: 14,
      masqueradeAll: false,
      localhostNodePorts: true,
      syncPeriod: '30s',
      minSyncPeriod: '1s',
      detectLocalMode: 'ClusterCIDR',
      nodePortAddresses: [],
      ipvs: { scheduler: 'rr', strictARP: false, syncPeriod: '30s', minSyncPeriod: '0s' },
      conntrack: { maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: '24h0m0s', tcpCloseWaitTimeout: '1h0m0s', tcpBeLiberal: false },
    });
    expect(masqueradeMark(c.masqueradeBit)).toBe('0x00004000');
  });

  it('reads a document as a cluster holds it', () => {
    const doc = parse(`
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clusterCIDR: 10.42.0.0/16
ipvs:
  scheduler: wrr
  strictARP: true
iptables:
  masqueradeBit: 15
nodePortAddresses: [192.168.4.0/24]
`) as KubeProxyConfigurationDoc;
    const c = kubeProxyConfig(doc);
    expect([c.mode, c.clusterCIDR, c.ipvs.scheduler, c.ipvs.strictARP, c.masqueradeBit, c.nodePortAddresses]).toEqual(['ipvs', '10.42.0.0/16', 'wrr', true, 15, ['192.168.4.0/24']]);
    expect(masqueradeMark(15)).toBe('0x00008000');
  });

  it.each([
    [{ mode: 'userspace' }, 'mode'],
    [{ iptables: { masqueradeBit: 32 } }, 'iptables.masqueradeBit'],
    [{ ipvs: { scheduler: 'fastest' } }, 'ipvs.scheduler'],
    [{ syncPeriod: 'thirty seconds' }, 'syncPeriod'],
  ])('rejects %j naming the field', (doc, field) => {
    expect(() => kubeProxyConfig(doc as Partial<KubeProxyConfigurationDoc>)).toThrow(KubeProxyConfigError);
    try {
      kubeProxyConfig(doc as Partial<KubeProxyConfigurationDoc>);
    } catch (e) {
      expect((e as KubeProxyConfigError).field).toBe(field);
    }
  });

  it('parses Go durations', () => {
    expect(parseDurationNs('30s')).toBe(30e9);
    expect(parseDurationNs('1h0m0s')).toBe(3600e9);
    expect(parseDurationNs('1m30s')).toBe(90e9);
    expect(parseDurationNs('500ms')).toBe(5e8);
    expect(parseDurationNs('0')).toBe(0);
  });
});

describe('conntrack settings at startup', () => {
  it('scales nf_conntrack_max by CPUs with the floor, and sets the TCP timeouts', async () => {
    const { conntrackSysctls } = await import('../../../src/k8s/kube-proxy/config.js');
    expect(conntrackSysctls(kubeProxyConfig(), 8)).toEqual({
      sysctls: [
        { name: 'net/netfilter/nf_conntrack_max', value: 262144 },
        { name: 'net/netfilter/nf_conntrack_tcp_timeout_established', value: 86400 },
        { name: 'net/netfilter/nf_conntrack_tcp_timeout_close_wait', value: 3600 },
      ],
      hashsize: 65536,
    });
    // 2 CPUs x 32768 is below the 131072 floor.
    expect(conntrackSysctls(kubeProxyConfig(), 2).sysctls[0]).toEqual({ name: 'net/netfilter/nf_conntrack_max', value: 131072 });
    const liberal = conntrackSysctls(kubeProxyConfig({ conntrack: { maxPerCore: 0, tcpBeLiberal: true, udpTimeout: '30s' } }), 4);
    expect(liberal.hashsize).toBeNull();
    expect(liberal.sysctls.map((s) => s.name)).toEqual([
      'net/netfilter/nf_conntrack_tcp_timeout_established',
      'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
      'net/netfilter/nf_conntrack_tcp_be_liberal',
      'net/netfilter/nf_conntrack_udp_timeout',
    ]);
  });
});

describe('createProxier', () => {
  it('picks the proxier for the mode', async () => {
    const { createProxier, IptablesProxier, IpvsProxier, MemoryIptables, MemoryNetlink } = await import('../../../src/k8s/kube-proxy/index.js');
    const base = { nodeName: 'n', nodeIP: '192.168.4.86', iptables: new MemoryIptables() };
    expect(createProxier({ ...base, config: kubeProxyConfig() })).toBeInstanceOf(IptablesProxier);
    expect(createProxier({ ...base, config: kubeProxyConfig({ mode: 'ipvs' }), netlink: new MemoryNetlink() })).toBeInstanceOf(IpvsProxier);
    expect(() => createProxier({ ...base, config: kubeProxyConfig({ mode: 'ipvs' }) })).toThrow(/netlink/);
    expect(() => createProxier({ ...base, config: kubeProxyConfig({ mode: 'nftables' }) })).toThrow(/nftables/);
  });
});
