import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { FakeNetns, packet, deliver, type PktOpts } from './helpers.js';

// Rule fragments in restore form (kube-proxy style placement of -m/-p/!), combined at random.
const addr = fc.constantFrom('10.0.0.1', '10.0.0.0/8', '10.0.0.0/255.255.0.0', '172.30.0.41', '192.168.0.0/16', '10.0.0.2/32');
const frag = fc.oneof(
  addr.map((a) => `-s ${a}`),
  addr.map((a) => `! -s ${a}`),
  addr.map((a) => `-d ${a}`),
  addr.map((a) => `! -d ${a}`),
  fc.constantFrom('-i eth0', '-i eth+', '! -i lo', '-m comment --comment "a b c"', '-m comment --comment x/y:z', '-m mark --mark 0x4000/0x4000', '-m mark ! --mark 0x00004000/0x00004000', '-m addrtype --dst-type LOCAL', '-m addrtype ! --src-type LOCAL'),
);
const l4 = fc.constantFrom('', '-p tcp', '-m tcp -p tcp --dport 80', '-p tcp -m tcp ! --dport 81', '-p udp --dport 53', '-m udp -p udp --sport 1:1024', '-p tcp --syn', '-p tcp -m multiport --dports 22,80', '-p icmp --icmp-type echo-request');
const target = fc.constantFrom('-j ACCEPT', '-j DROP', '-j RETURN', '-j MARK --or-mark 0x00004000', '-j MARK --set-mark 0x1/0x3', '-j LOG --log-prefix "p: "');
const rule = fc.tuple(fc.array(frag, { maxLength: 3 }), l4, target).map(([fs, p, t]) => {
  // -s/-d/-i each at most once per rule
  const seen = new Set<string>();
  const kept = fs.filter((f) => {
    const k = f.replace(/^! /, '').slice(0, 2);
    if (k.startsWith('-m')) return true;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return [...kept, p, t].filter(Boolean).join(' ');
});
const pkt = fc.record({
  src: fc.constantFrom('10.0.0.1', '10.1.2.3', '192.168.5.5', '127.0.0.1'),
  dst: fc.constantFrom('10.0.0.2', '172.30.0.41', '8.8.8.8'),
  proto: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const),
  sport: fc.integer({ min: 1, max: 2000 }),
  dport: fc.constantFrom(22, 53, 80, 81),
  flags: fc.constantFrom(0x02, 0x10, 0x12),
});

function build(text: string): Netfilter {
  const ns = new FakeNetns();
  ns.addrs.push({ dev: 'eth0', addr: '10.0.0.2', cidr: '10.0.0.0/24' });
  const nf = new Netfilter(ns, { conntrackHooks: 'off' });
  nf.restore(text);
  return nf;
}

describe('properties of restore and save', () => {
  it('restoring the saved text gives the same text and the same verdicts', () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 8 }), fc.array(pkt, { minLength: 1, maxLength: 5 }), (rules, pkts) => {
        const text = `*filter\n:INPUT DROP [0:0]\n${rules.map((r) => `-A INPUT ${r}`).join('\n')}\nCOMMIT\n`;
        const a = build(text);
        const saved = a.save({ header: false });
        const b = build(saved);
        expect(b.save({ header: false })).toBe(saved);
        for (const p of pkts) {
          const o: PktOpts = { ...p };
          const pa = packet(o);
          const pb = packet(o);
          expect(deliver(b, pb)).toBe(deliver(a, pa));
          expect(pb.mark).toBe(pa.mark);
        }
      }),
      { numRuns: 150 },
    );
  });
});
