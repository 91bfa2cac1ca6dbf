// Felix's ruleset as a packet filter, loaded into the netfilter model: the verdicts its chains
// give on a Canal node with no policies (profiles only), packet by packet.
import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../../src/netfilter/netfilter.js';
import { NF_ACCEPT, NF_DROP } from '../../../src/netfilter/hooks.js';
import { cidrContains, parseCidr, type Ipv4Addr } from '../../../src/wire/ipv4-address.js';
import { defaultIPv4Pool, felixProgram, kubernetesProfile, podProfileIds, type FelixInputs } from '../../../src/k8s/calico/felix.js';
import { FakeNetns, forward, deliver, ipBytes, packet, SYN, ACK } from '../../netfilter/helpers.js';

const WEB = 'cali18e95c70453'; // k8s/web, 10.42.4.15
const DB = 'calia0b1c2d3e4f'; // k8s/db, 10.42.4.16, no namespace profile (ksa only)

/** A node with a FIB so rpfilter has routes back to the pods. */
class Node extends FakeNetns {
  routes = [
    { cidr: '0.0.0.0/0', dev: 'eth0' },
    { cidr: '10.42.4.15/32', dev: WEB },
    { cidr: '10.42.4.16/32', dev: DB },
    // A pod the CNI plumbed but Felix has not heard of yet.
    { cidr: '10.42.4.40/32', dev: 'cali99999999999' },
  ];
  fibLookup(dst: Ipv4Addr): { type: string; dev: { name: string } } | undefined {
    const r = this.routes.filter((x) => cidrContains(parseCidr(x.cidr), dst)).sort((a, b) => parseCidr(b.cidr).len - parseCidr(a.cidr).len)[0];
    return r ? { type: 'unicast', dev: { name: r.dev } } : undefined;
  }
}

function node(kubeIPVS = false): Netfilter {
  const ns = new Node(5);
  ns.addrs.push({ dev: 'eth0', addr: '192.168.4.88', cidr: '192.168.4.0/24' });
  const inp: FelixInputs = {
    endpoints: [
      { name: WEB, profileIds: podProfileIds('k8s', 'default') },
      { name: DB, profileIds: ['ksa.k8s.db'] },
    ],
    profiles: ['kns.k8s', 'ksa.k8s.default', 'ksa.k8s.db'].map(kubernetesProfile),
    pools: [defaultIPv4Pool(['192.168.4.88'])],
    hostIPs: ['127.0.0.1', '192.168.4.88'],
    kubeIPVS,
    randomFully: true,
  };
  const p = felixProgram(inp);
  const nf = new Netfilter(ns);
  nf.ipsetRestore(p.ipsetRestore);
  for (const t of p.tables) nf.restore(t.text, { noflush: true });
  return nf;
}

/** The packets counted on the rule of `table` that iptables-save prints matching `re`. */
function hits(nf: Netfilter, table: 'raw' | 'filter', re: RegExp): number {
  const line = nf.save({ table, counters: true, header: false }).split('\n').find((l) => re.test(l));
  if (!line) throw new Error(`no rule matching ${re}`);
  return Number(/^\[(\d+):/.exec(line)![1]);
}

const tcp = (src: string, dst: string, flags = SYN) => packet({ src, dst, proto: 'tcp', sport: 40000, dport: 8080, flags });

describe('Felix verdicts on a node with no policies', () => {
  it('a workload whose namespace profile allows: forwarded out (to another node) and in (from one)', () => {
    const nf = node();
    expect(forward(nf, tcp('10.42.4.15', '10.42.3.171'), WEB, 'flannel.1')).toBe(NF_ACCEPT);
    expect(forward(nf, tcp('10.42.3.171', '10.42.4.15'), 'flannel.1', WEB)).toBe(NF_ACCEPT);
  });

  it('an endpoint with only a rule-less service-account profile: "Drop if no profiles matched" both ways', () => {
    const nf = node();
    expect(forward(nf, tcp('10.42.4.16', '10.42.3.171'), DB, 'flannel.1')).toBe(NF_DROP);
    expect(forward(nf, tcp('10.42.3.171', '10.42.4.16'), 'flannel.1', DB)).toBe(NF_DROP);
    expect(hits(nf, 'filter', new RegExp(`-A cali-fw-${DB} .*"Drop if no profiles matched" -j DROP$`))).toBe(1);
    expect(hits(nf, 'filter', new RegExp(`-A cali-tw-${DB} .*"Drop if no profiles matched" -j DROP$`))).toBe(1);
  });

  it('a cali* interface Felix has no endpoint for: "Unknown interface"', () => {
    const nf = node();
    expect(forward(nf, tcp('10.42.4.40', '10.42.3.171'), 'cali99999999999', 'flannel.1')).toBe(NF_DROP);
    expect(forward(nf, tcp('10.42.3.171', '10.42.4.40'), 'flannel.1', 'cali99999999999')).toBe(NF_DROP);
    expect(hits(nf, 'filter', /-A cali-from-wl-dispatch .*"Unknown interface" -j DROP$/)).toBe(1);
    expect(hits(nf, 'filter', /-A cali-to-wl-dispatch .*"Unknown interface" -j DROP$/)).toBe(1);
  });

  it('a spoofed source from a workload fails the raw table\'s RPF check', () => {
    const nf = node();
    expect(forward(nf, tcp('10.42.4.99', '10.42.3.171'), WEB, 'flannel.1')).toBe(NF_DROP);
    expect(hits(nf, 'raw', /-m rpfilter --validmark --invert -j DROP$/)).toBe(1);
  });

  it('workload to host: the egress profile, then DefaultEndpointToHostAction ACCEPT (Canal)', () => {
    const nf = node();
    expect(deliver(nf, tcp('10.42.4.15', '192.168.4.88'), WEB)).toBe(NF_ACCEPT);
    expect(deliver(nf, tcp('10.42.4.16', '192.168.4.88'), DB)).toBe(NF_DROP);
  });

  it('conntrack INVALID from a workload is dropped at the top of its chain; a stray ACK is picked up', () => {
    const nf = node();
    // An ICMP error quoting a flow conntrack never saw has no entry to relate to: INVALID.
    const quoted = ipBytes(tcp('10.42.3.171', '10.42.4.15')).slice(0, 28);
    expect(forward(nf, packet({ src: '10.42.4.15', dst: '10.42.3.171', proto: 'icmp', icmpType: 3, icmpCode: 3, quote: quoted }), WEB, 'flannel.1')).toBe(NF_DROP);
    expect(nf.save({ table: 'filter', counters: true, header: false })).toMatch(new RegExp(`\\[1:\\d+\\] -A cali-fw-${WEB} -m comment --comment "cali:\\S{16}" -m conntrack --ctstate INVALID -j DROP`));
    // nf_conntrack_tcp_loose=1: a mid-stream ACK starts an entry, and the profile allows it.
    expect(forward(nf, tcp('10.42.4.15', '10.42.3.171', ACK), WEB, 'flannel.1')).toBe(NF_ACCEPT);
  });

  it('traffic between non-Calico interfaces is left to the other rules (Felix only returns)', () => {
    const nf = node();
    expect(forward(nf, tcp('192.168.4.200', '10.9.9.9'), 'eth0', 'eth1')).toBe(NF_ACCEPT);
  });

  it('ipvs mode: the same verdicts through the forward-check chain on INPUT', () => {
    const nf = node(true);
    // To a "service IP" (not this host): marked with the endpoint's mark, INPUT returns.
    expect(deliver(nf, tcp('10.42.4.15', '10.43.0.10'), WEB)).toBe(NF_ACCEPT);
    expect(deliver(nf, tcp('10.42.4.16', '192.168.4.88'), DB)).toBe(NF_DROP);
  });
});
