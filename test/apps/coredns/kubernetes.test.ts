// Table-driven answers of the seed Corefile (hosts, kubernetes `pods insecure` with
// fallthrough for reverse zones, forward, cache 30, loadbalance) over the seed-000 fixture.
// Expected sections follow the Kubernetes DNS specification 1.1.0 and CoreDNS's
// plugin/kubernetes + plugin/backend_lookup.go; TTLs are after `cache 30` (ttl 5 stays 5,
// anything above 30 becomes 30, below 5 becomes 5; one TTL for the whole message).
import { describe, expect, it } from 'vitest';
import { rcodeName, type RR } from '../../../src/apps/coredns/dns/message.js';
import { absName, flagsText, rdataText } from '../../../src/apps/dig/print.js';
import { ask, EPOCH, makeWorld } from './fixture.js';

const Z = 'cluster.local';
const SOA = `${Z}. 5 SOA ns.dns.${Z}. hostmaster.${Z}. ${EPOCH} 7200 1800 86400 5`;
const ROOT_SOA = '. 30 SOA a.root-servers.net. nstld.verisign-grs.com. 2024073100 1800 900 604800 86400';
const AUTH = 'qr aa rd';
const FWD = 'qr rd ra';
const CH = [
  ['clickhouse-1-1-0', '192.168.4.86'],
  ['clickhouse-1-2-0', '192.168.4.87'],
  ['clickhouse-1-3-0', '192.168.4.88'],
  ['clickhouse-2-1-0', '192.168.4.89'],
  ['clickhouse-2-2-0', '192.168.4.90'],
  ['clickhouse-2-3-0', '192.168.4.91'],
];
const CHS = 'clickhouse-service.clickhouse.svc.cluster.local';
const BE = 'backend-service.k8s.svc.cluster.local';

interface Row {
  q: [string, string];
  /** Ask with EDNS UDP size 1232 (as dig does); the reply must echo the OPT. */
  edns?: boolean;
  rcode: string;
  flags: string;
  answer?: string[];
  authority?: string[];
  additional?: string[];
}

const rows: Row[] = [
  // ClusterIP service
  { q: [BE, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`${BE}. 5 A 10.43.199.15`] },
  { q: [BE, 'AAAA'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [BE, 'TXT'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [BE, 'MX'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [BE, 'SOA'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [BE, 'PTR'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [BE, 'SRV'], rcode: 'NOERROR', flags: AUTH, answer: [`${BE}. 5 SRV 0 100 18888 ${BE}.`], additional: [`${BE}. 5 A 10.43.199.15`] },
  { q: [`_http._tcp.${BE}`, 'SRV'], rcode: 'NOERROR', flags: AUTH, answer: [`_http._tcp.${BE}. 5 SRV 0 100 18888 ${BE}.`], additional: [`${BE}. 5 A 10.43.199.15`] },
  { q: [`http.tcp.${BE}`, 'SRV'], rcode: 'NOERROR', flags: AUTH, answer: [`http.tcp.${BE}. 5 SRV 0 100 18888 ${BE}.`], additional: [`${BE}. 5 A 10.43.199.15`] },
  { q: [`_https._tcp.${BE}`, 'SRV'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`_http._udp.${BE}`, 'SRV'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`10-42-0-134.${BE}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`10-42-0-134.${BE}. 5 A 10.42.0.134`] },
  { q: ['BACKEND-Service.K8S.svc.cluster.local', 'A'], rcode: 'NOERROR', flags: AUTH, answer: ['BACKEND-Service.K8S.svc.cluster.local. 5 A 10.43.199.15'] },
  { q: ['kube-dns.kube-system.svc.cluster.local', 'SRV'], rcode: 'NOERROR', flags: AUTH,
    answer: ['kube-dns.kube-system.svc.cluster.local. 5 SRV 0 33 53 kube-dns.kube-system.svc.cluster.local.', 'kube-dns.kube-system.svc.cluster.local. 5 SRV 0 33 9153 kube-dns.kube-system.svc.cluster.local.'],
    additional: ['kube-dns.kube-system.svc.cluster.local. 5 A 10.43.0.10'] },
  // missing names, wrong label counts
  { q: [`nope.k8s.svc.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`nope.k8s.svc.${Z}`, 'SOA'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [`backend-service.nons.svc.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`k8s.svc.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [`nons.svc.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`svc.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [`a.b.c.${CHS}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`backend-service.k8s.foo.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`*.k8s.svc.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  // apex
  { q: [Z, 'A'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [Z, 'SOA'], rcode: 'NOERROR', flags: AUTH, answer: [SOA] },
  { q: [Z, 'NS'], rcode: 'NOERROR', flags: AUTH, answer: [`${Z}. 5 NS kube-dns.kube-system.svc.${Z}.`], additional: [`kube-dns.kube-system.svc.${Z}. 5 A 10.43.0.10`] },
  { q: [Z, 'TXT'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`ns.dns.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`ns.dns.${Z}. 5 A 10.43.0.10`] },
  { q: [`dns-version.${Z}`, 'TXT'], rcode: 'NOERROR', flags: AUTH, answer: [`dns-version.${Z}. 30 TXT "1.1.0"`] },
  { q: [`dns-version.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`${BE}`, 'AXFR'], rcode: 'REFUSED', flags: 'qr rd' },
  // headless over host-network StatefulSet pods
  { q: [CHS, 'A'], rcode: 'NOERROR', flags: AUTH, answer: CH.map(([, ip]) => `${CHS}. 5 A ${ip}`) },
  { q: [`clickhouse-1-1-0.${CHS}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`clickhouse-1-1-0.${CHS}. 5 A 192.168.4.86`] },
  { q: [`clickhouse-2-3-0.${CHS}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`clickhouse-2-3-0.${CHS}. 5 A 192.168.4.91`] },
  { q: [`clickhouse-9-9-9.${CHS}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`192-168-4-86.${CHS}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [CHS, 'AAAA'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [`_tcp._tcp.${CHS}`, 'SRV'], edns: true, rcode: 'NOERROR', flags: AUTH, answer: CH.map(([h]) => `_tcp._tcp.${CHS}. 5 SRV 0 16 9000 ${h}.${CHS}.`), additional: CH.map(([h, ip]) => `${h}.${CHS}. 5 A ${ip}`) },
  { q: [CHS, 'SRV'], edns: true, rcode: 'NOERROR', flags: AUTH,
    answer: CH.flatMap(([h]) => [`${CHS}. 5 SRV 0 8 9000 ${h}.${CHS}.`, `${CHS}. 5 SRV 0 8 8123 ${h}.${CHS}.`]),
    additional: CH.map(([h, ip]) => `${h}.${CHS}. 5 A ${ip}`) },
  { q: [`starting.k8s.svc.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  // ExternalName
  { q: [`external-xxx.k8s.svc.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`external-xxx.k8s.svc.${Z}. 5 CNAME xxx.com.`, 'xxx.com. 5 A 122.14.236.25'] },
  { q: [`external-xxx.k8s.svc.${Z}`, 'CNAME'], rcode: 'NOERROR', flags: AUTH, answer: [`external-xxx.k8s.svc.${Z}. 5 CNAME xxx.com.`] },
  { q: [`external-xxx.k8s.svc.${Z}`, 'SRV'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [`foo.external-xxx.k8s.svc.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`_http._tcp.external-xxx.k8s.svc.${Z}`, 'SRV'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`external-gone.k8s.svc.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`external-gone.k8s.svc.${Z}. 5 CNAME nothere.example.com.`] },
  { q: [`alias.k8s.svc.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`alias.k8s.svc.${Z}. 5 CNAME ${BE}.`, `${BE}. 5 A 10.43.199.15`] },
  // pods insecure
  { q: [`10-42-4-15.k8s.pod.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`10-42-4-15.k8s.pod.${Z}. 5 A 10.42.4.15`] },
  { q: [`1-2-3-4.k8s.pod.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, answer: [`1-2-3-4.k8s.pod.${Z}. 5 A 1.2.3.4`] },
  { q: [`1-2-3-4.nons.pod.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`notanip.k8s.pod.${Z}`, 'A'], rcode: 'NXDOMAIN', flags: AUTH, authority: [SOA] },
  { q: [`k8s.pod.${Z}`, 'A'], rcode: 'NOERROR', flags: AUTH, authority: [SOA] },
  { q: [`fd00--1.k8s.pod.${Z}`, 'AAAA'], rcode: 'NOERROR', flags: AUTH, answer: [`fd00--1.k8s.pod.${Z}. 5 AAAA fd00::1`] },
  // PTR: service IP, endpoint IPs, fallthrough to forward
  { q: ['15.199.43.10.in-addr.arpa', 'PTR'], rcode: 'NOERROR', flags: AUTH, answer: [`15.199.43.10.in-addr.arpa. 5 PTR ${BE}.`] },
  { q: ['10.0.43.10.in-addr.arpa', 'PTR'], rcode: 'NOERROR', flags: AUTH, answer: [`10.0.43.10.in-addr.arpa. 5 PTR kube-dns.kube-system.svc.${Z}.`] },
  { q: ['134.0.42.10.in-addr.arpa', 'PTR'], rcode: 'NOERROR', flags: AUTH, answer: [`134.0.42.10.in-addr.arpa. 5 PTR 10-42-0-134.${BE}.`] },
  { q: ['86.4.168.192.in-addr.arpa', 'PTR'], rcode: 'NOERROR', flags: AUTH, answer: [`86.4.168.192.in-addr.arpa. 5 PTR clickhouse-1-1-0.${CHS}.`] },
  { q: ['9.9.9.10.in-addr.arpa', 'PTR'], rcode: 'NXDOMAIN', flags: FWD, authority: [ROOT_SOA] },
  // hosts and forward
  { q: ['kubenode1', 'A'], rcode: 'NOERROR', flags: AUTH, answer: ['kubenode1. 30 A 1.2.3.1'] },
  { q: ['kubenode1', 'AAAA'], rcode: 'NOERROR', flags: AUTH },
  { q: ['1.3.2.1.in-addr.arpa', 'PTR'], rcode: 'NOERROR', flags: AUTH, answer: ['1.3.2.1.in-addr.arpa. 30 PTR kubenode1.'] },
  { q: ['xxx.com', 'A'], rcode: 'NOERROR', flags: FWD, answer: ['xxx.com. 30 A 122.14.236.25'] },
  { q: ['short.example.com', 'A'], rcode: 'NOERROR', flags: FWD, answer: ['short.example.com. 5 A 203.0.113.7'] },
  { q: ['nothere.example.com', 'A'], rcode: 'NXDOMAIN', flags: FWD, authority: [ROOT_SOA] },
];

const text = (r: RR): string => `${absName(r.name)} ${r.ttl} ${r.type} ${rdataText(r)}`;
const sorted = (a: string[] | undefined): string[] => [...(a ?? [])].sort();

describe('kubernetes plugin answers (seed Corefile)', () => {
  it('has at least 40 rows', () => expect(rows.length).toBeGreaterThanOrEqual(40));
  for (const row of rows) {
    it(`${row.q[0]} ${row.q[1]} -> ${row.rcode}`, () => {
      const w = makeWorld();
      const edns = row.edns ? { udpSize: 1232, do: false, version: 0, extRcode: 0, options: [] } : null;
      const { reply } = ask(w, row.q[0], row.q[1], { edns });
      expect(reply.id).toBe(4242);
      expect(rcodeName(reply.rcode)).toBe(row.rcode);
      expect(flagsText(reply)).toBe(row.flags);
      expect(reply.question).toEqual([{ name: row.q[0], type: row.q[1], class: 'IN' }]);
      expect(sorted(reply.answer.map(text))).toEqual(sorted(row.answer));
      expect(sorted(reply.ns.map(text))).toEqual(sorted(row.authority));
      expect(sorted(reply.extra.map(text))).toEqual(sorted(row.additional));
      if (row.edns) expect(reply.edns).toEqual({ udpSize: 1232, do: false, version: 0, extRcode: 0, options: [] });
      else expect(reply.edns).toBeNull();
    });
  }

  it('truncates a reply over 512 bytes for a client without EDNS, compressing first (miekg Truncate)', () => {
    const w = makeWorld();
    const { reply, bytes } = ask(w, CHS, 'SRV');
    expect(reply.tc).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(512);
    // Uncompressed only 3 SRVs (131 bytes each) would fit; with owner names compressed
    // (SRV targets never are, RFC 2782) 5 do.
    expect(reply.answer.length).toBe(5);
    expect(reply.answer.length).toBeLessThan(12);
    // The wire really carries compression pointers (0xc0..).
    expect([...bytes].some((b, i) => (b & 0xc0) === 0xc0 && i > 12)).toBe(true);
    const { reply: tcp } = ask(w, CHS, 'SRV', { proto: 'tcp' });
    expect(tcp.tc).toBe(false);
    expect(tcp.answer).toHaveLength(12);
  });
});
