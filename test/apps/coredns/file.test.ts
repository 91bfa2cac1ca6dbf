// The file plugin as an outside authoritative server (plugin/file lookup.go semantics).
import { describe, expect, it } from 'vitest';
import { rcodeName, type RR } from '../../../src/apps/coredns/dns/message.js';
import { absName, rdataText } from '../../../src/apps/dig/print.js';
import { CorefileError } from '../../../src/apps/coredns/corefile/errors.js';
import { ask, makeWorld } from './fixture.js';

const ZONE = `$ORIGIN example.com.
$TTL 300
@        IN SOA ns1 hostmaster (
                2024073101 ; serial
                7200 1800 86400 300 )
@        IN NS  ns1
ns1      IN A   192.168.4.2
siji     IN A   192.168.4.250
         IN AAAA fd00::250
www  600 IN CNAME siji
ext      IN CNAME xxx.com.
_http._tcp IN SRV 0 10 80 siji
*.apps   IN A   192.168.4.251
a.b.deep IN TXT "two words" plain
`;
const COREFILE = '.:53 {\n  file /etc/coredns/db.example.com example.com\n  forward . 192.168.4.1\n}\n';
const files = { '/etc/coredns/db.example.com': ZONE, '/etc/resolv.conf': 'nameserver 192.168.4.1\n' };
const text = (r: RR): string => `${absName(r.name)} ${r.ttl} ${r.type} ${rdataText(r)}`;
const SOA = 'example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024073101 7200 1800 86400 300';
const NS = 'example.com. 300 NS ns1.example.com.';

describe('file plugin', () => {
  const w = makeWorld({ corefile: COREFILE, files });
  const q = (name: string, type: string): { rcode: string; aa: boolean; an: string[]; ns: string[]; ex: string[] } => {
    const r = ask(w, name, type).reply;
    return { rcode: rcodeName(r.rcode), aa: r.aa, an: r.answer.map(text), ns: r.ns.map(text), ex: r.extra.map(text) };
  };
  it('answers with the apex NS in Authority', () => {
    expect(q('siji.example.com', 'A')).toEqual({ rcode: 'NOERROR', aa: true, an: ['siji.example.com. 300 A 192.168.4.250'], ns: [NS], ex: [] });
    expect(q('siji.example.com', 'AAAA').an).toEqual(['siji.example.com. 300 AAAA fd00::250']);
  });
  it('NODATA and NXDOMAIN carry the SOA; an empty non-terminal is NODATA', () => {
    expect(q('siji.example.com', 'MX')).toEqual({ rcode: 'NOERROR', aa: true, an: [], ns: [SOA], ex: [] });
    expect(q('nope.example.com', 'A')).toEqual({ rcode: 'NXDOMAIN', aa: true, an: [], ns: [SOA], ex: [] });
    expect(q('deep.example.com', 'A')).toEqual({ rcode: 'NOERROR', aa: true, an: [], ns: [SOA], ex: [] });
  });
  it('apex SOA and NS (with glue)', () => {
    expect(q('example.com', 'SOA')).toEqual({ rcode: 'NOERROR', aa: true, an: [SOA], ns: [NS], ex: [] });
    expect(q('example.com', 'NS')).toEqual({ rcode: 'NOERROR', aa: true, an: [NS], ns: [], ex: ['ns1.example.com. 300 A 192.168.4.2'] });
  });
  it('follows CNAMEs in the zone and out of it (through forward)', () => {
    expect(q('www.example.com', 'A').an).toEqual(['www.example.com. 600 CNAME siji.example.com.', 'siji.example.com. 300 A 192.168.4.250']);
    expect(q('ext.example.com', 'A').an).toEqual(['ext.example.com. 300 CNAME xxx.com.', 'xxx.com. 600 A 122.14.236.25']);
  });
  it('wildcards, SRV additionals, TXT strings', () => {
    expect(q('anything.apps.example.com', 'A').an).toEqual(['anything.apps.example.com. 300 A 192.168.4.251']);
    expect(q('_http._tcp.example.com', 'SRV')).toMatchObject({ an: ['_http._tcp.example.com. 300 SRV 0 10 80 siji.example.com.'], ex: ['siji.example.com. 300 A 192.168.4.250', 'siji.example.com. 300 AAAA fd00::250'] });
    expect(q('a.b.deep.example.com', 'TXT').an).toEqual(['a.b.deep.example.com. 300 TXT "two words" "plain"']);
  });
  it('names outside the zone go to the next plugin', () => {
    expect(q('xxx.com', 'A')).toMatchObject({ rcode: 'NOERROR', aa: false, an: ['xxx.com. 600 A 122.14.236.25'] });
  });
  it('a bad zone file fails the load with the line', () => {
    const bad = (): unknown => makeWorld({ corefile: COREFILE, files: { ...files, '/etc/coredns/db.example.com': '$TTL 60\n@ IN SOA ns hm 1 2 3 4 5\nx IN A 1.2.3\n' } });
    expect(bad).toThrow(CorefileError);
    expect(bad).toThrow('plugin/file: /etc/coredns/db.example.com: dns: bad A A: "1.2.3" at line: 3:1');
  });
});

describe('an outside DNS server as the cluster upstream', () => {
  it('cluster CoreDNS forwards xxx.com to an external CoreDNS serving it from a zone file', async () => {
    const { CoreDns } = await import('../../../src/apps/coredns/server.js');
    const { Registry } = await import('../../../src/apps/coredns/plugins/prometheus/registry.js');
    const w = makeWorld();
    // the external resolver host 192.168.4.1 now runs CoreDNS with the outside zones
    const outside = CoreDns.load('xxx.com:53 {\n  file /zones/db.xxx.com\n}\nexample.com:53 {\n  file /zones/db.example.com\n}\n', {
      eq: w.eq,
      rng: w.rng.fork('outside'),
      trace: null,
      node: 'xxx-dns',
      netns: 'root',
      epochSeconds: 0,
      files: {
        '/zones/db.xxx.com': '$TTL 600\n@ IN SOA ns hostmaster 1 7200 1800 86400 60\n@ IN NS ns\nns IN A 192.168.4.1\n@ IN A 122.14.236.25\n',
        '/zones/db.example.com': ZONE,
      },
      k8s: null,
      net: null,
      localIPs: ['192.168.4.1'],
      stdout: () => {},
      metrics: new Registry(),
    });
    w.net.serve('192.168.4.1', 53, (b, from, reply, proto) => outside.handleDatagram(53, b, from, { addr: '192.168.4.1', port: 53 }, reply, proto));
    const a = ask(w, 'xxx.com', 'A').reply;
    expect([rcodeName(a.rcode), a.aa, a.answer.map(text), a.ns.map(text)]).toEqual(['NOERROR', true, ['xxx.com. 30 A 122.14.236.25'], ['xxx.com. 30 NS ns.xxx.com.']]);
    const n = ask(w, 'nope.xxx.com', 'A').reply;
    expect([rcodeName(n.rcode), n.ns.map(text)]).toEqual(['NXDOMAIN', ['xxx.com. 30 SOA ns.xxx.com. hostmaster.xxx.com. 1 7200 1800 86400 60']]);
    expect(rcodeName(ask(w, 'unknown.org', 'A').reply.rcode)).toBe('REFUSED');
    expect(ask(w, 'siji.example.com', 'A').reply.answer.map(text)).toEqual(['siji.example.com. 30 A 192.168.4.250']);
  });
});
