// The wire builders' edge cases decoded by the real tshark, with checksum validation on:
// 802.1Q, IPv4 options, UDP without checksum, SACK blocks, ECN flags, ICMP errors of every
// kind quoting whole packets, VXLAN carrying ARP. Every field tshark shows must be what was built.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildArpFrame, buildIcmpFrame, buildTcp, buildTcpFrame, buildUdpFrame, linuxEstablishedOptions, linuxIcmpErrorQuote, linuxSynAckOptions,
  linuxSynOptions, parseIpv4, parseMac, vxlanEncapsulate, ARPOP_REQUEST, ICMP_FRAG_NEEDED, ICMP_HOST_UNREACH, ICMP_PKT_FILTERED, MAC_ZERO,
  TCP_ACK, TCP_CWR, TCP_ECE, TCP_PSH, TCP_SYN,
} from '../../src/wire/index.js';
import { missing } from '../helpers/tools.js';
import { frameProblems, tsharkFrames, type TsharkFrame } from '../helpers/tshark.js';

const why = missing({ tools: ['tshark'] });

const A = parseIpv4('10.42.0.2');
const B = parseIpv4('10.42.1.2');
const R = parseIpv4('10.42.0.1');
const eth = { dst: parseMac('aa:aa:aa:00:00:02'), src: parseMac('aa:aa:aa:00:00:01') };
const back = { dst: eth.src, src: eth.dst };
const synRepr = {
  srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: TCP_SYN | TCP_ECE | TCP_CWR, window: 64860, urgent: 0,
  options: linuxSynOptions({ mss: 1410, timestamps: { tsval: 123456, tsecr: 0 }, windowScale: 10 }),
};
const synL3 = buildTcp({ src: A, dst: B, ttl: 1, dontFragment: true, ident: 7 }, synRepr);
const quote = linuxIcmpErrorQuote(synL3.data())!;

function frames(): Uint8Array[] {
  return [
    /* 1 */ buildUdpFrame({ ...eth, vlan: { pcp: 3, dei: false, vid: 42 } }, { src: A, dst: B }, { srcPort: 45000, dstPort: 45001 }, Buffer.from('vlan')).data(),
    /* 2 */ buildUdpFrame(eth, { src: A, dst: B, options: Uint8Array.of(0x94, 4, 0, 0) }, { srcPort: 45000, dstPort: 45001 }, Buffer.from('opts')).data(),
    /* 3 */ buildUdpFrame(eth, { src: A, dst: B }, { srcPort: 45000, dstPort: 45001, checksum: false }, Buffer.from('nocsum')).data(),
    /* 4 */ buildTcpFrame(eth, { src: A, dst: B, dontFragment: true }, {
      srcPort: 40000, dstPort: 80, seq: 5000, ack: 9000, flags: TCP_ACK | TCP_PSH, window: 502, urgent: 0,
      options: linuxEstablishedOptions({ timestamps: { tsval: 2, tsecr: 1 }, sackBlocks: [[9100, 9200], [9300, 9400]] }),
    }, Buffer.from('GET / HTTP/1.1\r\n\r\n')).data(),
    /* 5 */ buildTcpFrame(eth, { src: A, dst: B, ttl: 1, dontFragment: true, ident: 7 }, synRepr).data(),
    /* 6 */ buildTcpFrame(back, { src: B, dst: A, dontFragment: true }, {
      srcPort: 80, dstPort: 40000, seq: 7000, ack: 1001, flags: TCP_SYN | TCP_ACK | TCP_ECE, window: 65160, urgent: 0,
      options: linuxSynAckOptions({ mss: 1410, windowScale: 7 }),
    }).data(),
    /* 7 */ buildIcmpFrame(back, { src: R, dst: A, dscp: 0x30 }, { kind: 'time-exceeded', code: 0, quote }).data(),
    /* 8 */ buildIcmpFrame(back, { src: R, dst: A, dscp: 0x30 }, { kind: 'dest-unreachable', code: ICMP_FRAG_NEEDED, nextHopMtu: 1450, quote }).data(),
    /* 9 */ buildIcmpFrame(back, { src: R, dst: A, dscp: 0x30 }, { kind: 'dest-unreachable', code: ICMP_PKT_FILTERED, nextHopMtu: 0, quote }).data(),
    /* 10 */ buildIcmpFrame(back, { src: R, dst: A, dscp: 0x30 }, { kind: 'redirect', code: ICMP_HOST_UNREACH, gateway: parseIpv4('10.42.0.254'), quote }).data(),
    /* 11 */ buildIcmpFrame(back, { src: R, dst: A, dscp: 0x30 }, { kind: 'parameter-problem', code: 0, pointer: 20, quote }).data(),
    /* 12 */ vxlanEncapsulate(buildArpFrame({ op: ARPOP_REQUEST, senderMac: eth.src, senderIp: A, targetMac: MAC_ZERO, targetIp: B }), {
      eth: { dst: parseMac('e6:d8:6c:c3:af:74'), src: parseMac('7a:36:c7:54:f6:49') },
      ip: { src: parseIpv4('192.168.4.86'), dst: parseIpv4('192.168.4.87'), ident: 0x1234 }, srcPort: 40001, vni: 0x10203,
    }).data(),
  ];
}

/** A classic pcap (EN10MB, µs) of the frames, one second apart. */
function pcap(list: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  list.forEach((f, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000 + i, 0);
    rh.writeUInt32LE(f.length, 8);
    rh.writeUInt32LE(f.length, 12);
    parts.push(rh, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

describe.skipIf(why !== null)('wire frames decoded by tshark', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kwt-wire-tshark-'));
  afterAll(() => { if (!process.env.KWT_KEEP) rmSync(dir, { recursive: true, force: true }); });
  const file = join(dir, 'wire.pcap');
  writeFileSync(file, pcap(frames()));
  const decoded: TsharkFrame[] = tsharkFrames(file);
  const f = (n: number): TsharkFrame => decoded[n - 1]!;
  const field = (n: number, k: string): string[] => f(n).fields.get(k) ?? [];

  it('decodes every frame cleanly (UDP without checksum reported as not present)', () => {
    expect(decoded.length).toBe(12);
    const problems = decoded.flatMap((x) => frameProblems(x)).filter((p) => p !== 'frame 3: udp.checksum.status[0] = 3, not 1 (Good)');
    expect(problems).toEqual([]);
    expect(f(3).checksums['udp']).toEqual([3]);
  });

  it('802.1Q tag and IPv4 options', () => {
    expect(f(1).protocols.slice(0, 4)).toEqual(['eth', 'ethertype', 'vlan', 'ethertype']);
    expect(field(1, 'vlan.id')).toEqual(['42']);
    expect(field(1, 'vlan.priority')).toEqual(['3']);
    expect(field(2, 'ip.hdr_len')).toEqual(['24']);
    expect(field(2, 'ip.opt.type').length).toBe(1);
    expect(field(2, 'ip.opt.ra')).toEqual(['0']);
  });

  it('TCP options: SACK blocks, timestamps, ECN flags, the Linux SYN and SYN-ACK layouts', () => {
    expect(field(4, 'tcp.options.sack.count')).toEqual(['2']);
    const le = field(4, 'tcp.options.sack_le').map(Number);
    const re = field(4, 'tcp.options.sack_re').map(Number);
    expect([re[0]! - le[0]!, le[1]! - le[0]!, re[1]! - le[1]!]).toEqual([100, 200, 100]);
    expect(field(4, 'tcp.options.timestamp.tsval')).toEqual(['2']);
    expect(field(4, 'tcp.len')).toEqual(['18']);
    expect(field(5, 'tcp.flags.ece')).toEqual(['1']);
    expect(field(5, 'tcp.flags.str')).toEqual(['····CE····S·']);
    expect(field(5, 'tcp.flags.cwr')).toEqual(['1']);
    expect(field(5, 'tcp.options.mss_val')).toEqual(['1410']);
    expect(field(5, 'tcp.options.wscale.shift')).toEqual(['10']);
    expect(field(6, 'tcp.options.wscale.shift')).toEqual(['7']);
    expect(field(6, 'tcp.options')).toEqual(['02:04:05:82:01:01:04:02:01:03:03:07']);
  });

  it('ICMP errors quote the whole SYN, with verifiable inner checksums', () => {
    for (const n of [7, 8, 9, 10, 11]) {
      expect(f(n).protocols).toEqual(['eth', 'ethertype', 'ip', 'icmp', 'ip', 'tcp']);
      expect(f(n).checksums['icmp']).toEqual([1]);
      expect(f(n).checksums['ip']).toEqual([1, 1]);
      // tshark checks the quoted TCP checksum except under a redirect.
      if (n !== 10) expect(f(n).checksums['tcp']).toEqual([1]);
      expect(field(n, 'tcp.srcport')).toEqual(['40000']);
    }
    expect(field(7, 'icmp.type')).toEqual(['11']);
    expect(field(8, 'icmp.mtu')).toEqual(['1450']);
    expect(field(9, 'icmp.code')).toEqual(['13']);
    expect(field(10, 'icmp.redir_gw')).toEqual(['10.42.0.254']);
    expect(field(11, 'icmp.pointer')).toEqual(['20']);
  });

  it('VXLAN (UDP 8472) carrying an ARP request', () => {
    expect(f(12).protocols).toEqual(['eth', 'ethertype', 'ip', 'udp', 'vxlan', 'eth', 'ethertype', 'arp']);
    expect(field(12, 'vxlan.vni')).toEqual([String(0x10203)]);
    expect(field(12, 'arp.dst.proto_ipv4')).toEqual(['10.42.1.2']);
    expect(f(12).checksums['udp']).toEqual([1]);
  });

  it('tshark reads back the same bytes', () => {
    const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8' });
    expect(out.trim().split('\n').map(Number)).toEqual(frames().map((x) => x.length));
  });
});
