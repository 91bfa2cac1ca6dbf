// The seed cluster's k8s/backend-service in ipvs mode (seed 000: `TCP 10.43.199.15:18888 rr`
// with two Masq real servers, 10.43.199.15/32 on kube-ipvs0 of every node). The restore and
// ipset goldens were written from pkg/proxy/ipvs/proxier.go writeIptablesRules / ipsetInfo.
import { describe, expect, it } from 'vitest';
import { MemoryIptables } from '../../../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../../../src/k8s/kube-proxy/config.js';
import { IpvsProxier, MemoryIpvs, MemoryNetlink } from '../../../src/k8s/kube-proxy/ipvs.js';
import { loadFixture } from './harness.js';

function seedNode(nodeName: string, opts: { strictARP?: boolean; kernelVersion?: string } = {}) {
  const ipt = new MemoryIptables(true);
  const ipvs = new MemoryIpvs();
  const nl = new MemoryNetlink({ lo: ['127.0.0.1'], eth0: [nodeName] });
  const fp = new IpvsProxier({
    nodeName,
    nodeIP: nodeName,
    config: kubeProxyConfig({ mode: 'ipvs', clusterCIDR: '10.42.0.0/16', ipvs: { strictARP: opts.strictARP ?? false } }),
    iptables: ipt,
    ipvs,
    netlink: nl,
    ...(opts.kernelVersion !== undefined ? { kernelVersion: opts.kernelVersion } : {}),
  });
  const { services, slices } = loadFixture('seed-backend-service.yaml');
  for (const s of services) fp.onServiceAdd(s);
  for (const s of slices) fp.onEndpointSliceAdd(s);
  return { fp, ipt, ipvs, nl, services, slices };
}

describe('ipvs mode: seed backend-service', () => {
  it('programs TCP 10.43.199.15:18888 rr with two Masq real servers, weight 1', () => {
    const { fp } = seedNode('192.168.4.86');
    const r = fp.syncProxyRules();
    expect(r.success).toBe(true);
    expect(r.virtualServers).toEqual([
      {
        protocol: 'TCP',
        address: '10.43.199.15',
        port: 18888,
        scheduler: 'rr',
        flags: 0,
        timeout: 0,
        netmask: '255.255.255.255',
        dests: [
          { address: '10.42.0.134', port: 18888, weight: 1, fwd: 'Masq' },
          { address: '10.42.3.171', port: 18888, weight: 1, fwd: 'Masq' },
        ],
      },
    ]);
  });

  it('binds the ClusterIP on kube-ipvs0', () => {
    const { fp, nl } = seedNode('192.168.4.87');
    const r = fp.syncProxyRules();
    expect(r.netlinkOps).toEqual([
      { op: 'ensureDummyDevice', dev: 'kube-ipvs0' },
      { op: 'bindAddress', addr: '10.43.199.15', prefix: 32, dev: 'kube-ipvs0' },
    ]);
    expect(nl.getLocalAddresses('kube-ipvs0')).toEqual(['10.43.199.15']);
    expect([...r.ipsets.get('KUBE-IPVS-IPS')!]).toEqual(['10.43.199.15']);
  });

  it('writes the ipvs-mode iptables payload and ipsets', async () => {
    const { fp } = seedNode('192.168.4.86');
    const r = fp.syncProxyRules();
    await expect(r.restoreText).toMatchFileSnapshot('../../golden/kube-proxy/ipvs-seed-192.168.4.86-restore.txt');
    await expect(fp.ipsetRestoreText()).toMatchFileSnapshot('../../golden/kube-proxy/ipvs-seed-192.168.4.86-ipset-restore.txt');
  });

  it('on a node with a local endpoint, KUBE-LOOP-BACK masquerades hairpin traffic', () => {
    const { fp } = seedNode('192.168.4.91');
    const r = fp.syncProxyRules();
    expect([...r.ipsets.get('KUBE-LOOP-BACK')!]).toEqual(['10.42.0.134,tcp:18888,10.42.0.134']);
    const nat = r.restoreText.split('*filter')[0]!.split('\n');
    expect(nat[7]).toBe(
      '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
    );
  });

  it('ensures its jump rules every sync without duplicating them', () => {
    const { fp, ipt } = seedNode('192.168.4.86');
    fp.syncProxyRules();
    fp.syncProxyRules();
    const input = ipt.tables.find((t) => t.name === 'filter')!.chains.find((c) => c.name === 'INPUT')!.rules.map((r) => r.raw);
    expect(input).toEqual([
      '-A INPUT -m comment --comment kubernetes ipvs access filter -j KUBE-IPVS-FILTER',
      '-A INPUT -m comment --comment kube-proxy firewall rules -j KUBE-PROXY-FIREWALL',
      '-A INPUT -m comment --comment kubernetes health check rules -j KUBE-NODE-PORT',
    ]);
  });

  it('a second sync with no change issues no ipvs, netlink or ipset operation', () => {
    const { fp } = seedNode('192.168.4.86');
    fp.syncProxyRules();
    const r = fp.syncProxyRules();
    expect(r.ipvsOps).toEqual([]);
    expect(r.netlinkOps).toEqual([]);
    expect(r.ipsetOps).toEqual([]);
  });

  it('removes an endpoint gracefully: weight 0 while it has connections, deleted once idle', () => {
    const { fp, ipvs, slices } = seedNode('192.168.4.86');
    fp.syncProxyRules();
    ipvs.conns.set('10.43.199.15:18888/TCP/10.42.3.171:18888', 3);
    const updated = structuredClone(slices[0]!);
    updated.endpoints = updated.endpoints.filter((e) => e.addresses[0] !== '10.42.3.171');
    fp.onEndpointSliceUpdate(slices[0]!, updated);
    const r = fp.syncProxyRules();
    expect(r.ipvsOps.map((o) => `${o.op} ${'rs' in o ? `${o.rs.address} w${o.rs.weight}` : ''}`)).toEqual(['updateRealServer 10.42.3.171 w0']);
    expect(r.virtualServers[0]!.dests.map((d) => `${d.address} w${d.weight}`)).toEqual(['10.42.0.134 w1', '10.42.3.171 w0']);
    expect(fp.tryDeleteTerminating()).toEqual([]);
    ipvs.conns.delete('10.43.199.15:18888/TCP/10.42.3.171:18888');
    expect(fp.tryDeleteTerminating().map((o) => o.op)).toEqual(['deleteRealServer']);
    expect(ipvs.getRealServers(r.virtualServers[0]!).map((d) => d.address)).toEqual(['10.42.0.134']);
  });

  it('deleting the service deletes its virtual server and unbinds the address', () => {
    const { fp, nl, services } = seedNode('192.168.4.86');
    fp.syncProxyRules();
    fp.onServiceDelete(services[0]!);
    const r = fp.syncProxyRules();
    expect(r.virtualServers).toEqual([]);
    expect(r.netlinkOps).toEqual([{ op: 'unbindAddress', addr: '10.43.199.15', prefix: 32, dev: 'kube-ipvs0' }]);
    expect(nl.getLocalAddresses('kube-ipvs0')).toEqual([]);
    expect(r.ipsetOps).toEqual([
      { op: 'del', set: 'KUBE-CLUSTER-IP', entry: '10.43.199.15,tcp:18888' },
      { op: 'del', set: 'KUBE-IPVS-IPS', entry: '10.43.199.15' },
    ]);
  });

  it('sets the sysctls NewProxier sets', () => {
    expect(seedNode('192.168.4.86').fp.sysctls).toEqual([
      { name: 'net/ipv4/vs/conntrack', value: 1 },
      { name: 'net/ipv4/vs/expire_nodest_conn', value: 1 },
      { name: 'net/ipv4/vs/expire_quiescent_template', value: 1 },
      { name: 'net/ipv4/ip_forward', value: 1 },
    ]);
    // conn_reuse_mode=0 only on kernels before 5.9 (#93297); strictARP sets arp_ignore/announce.
    expect(seedNode('192.168.4.86', { kernelVersion: '4.19', strictARP: true }).fp.sysctls.map((s) => `${s.name}=${s.value}`)).toEqual([
      'net/ipv4/vs/conntrack=1',
      'net/ipv4/vs/conn_reuse_mode=0',
      'net/ipv4/vs/expire_nodest_conn=1',
      'net/ipv4/vs/expire_quiescent_template=1',
      'net/ipv4/ip_forward=1',
      'net/ipv4/conf/all/arp_ignore=1',
      'net/ipv4/conf/all/arp_announce=2',
    ]);
  });
});

describe('ipvs mode: failures', () => {
  it('a virtual server the kernel refuses is logged and skipped; the others are programmed', () => {
    class Refusing extends MemoryIpvs {
      override addVirtualServer(vs: Parameters<MemoryIpvs['addVirtualServer']>[0]): void {
        if (vs.address === '10.43.0.10') throw new Error('Invalid argument');
        super.addVirtualServer(vs);
      }
    }
    const ipvs = new Refusing();
    const fp = new IpvsProxier({
      nodeName: 'n',
      nodeIP: '192.168.4.86',
      config: kubeProxyConfig({ mode: 'ipvs', clusterCIDR: '10.42.0.0/16' }),
      iptables: new MemoryIptables(true),
      ipvs,
      netlink: new MemoryNetlink({ eth0: ['192.168.4.86'] }),
    });
    const { services, slices } = loadFixture('seed-backend-service.yaml');
    for (const s of services) fp.onServiceAdd(s);
    for (const s of slices) fp.onEndpointSliceAdd(s);
    fp.onServiceAdd({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { clusterIP: '10.43.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } });
    const r = fp.syncProxyRules();
    expect(r.success).toBe(true);
    expect(r.errors).toEqual(['Failed to sync service kube-system/kube-dns:dns 10.43.0.10:53/UDP: Invalid argument']);
    expect(r.virtualServers.map((v) => v.address)).toEqual(['10.43.199.15']);
    expect(r.boundAddresses).toEqual(['10.43.199.15']);
  });
});
