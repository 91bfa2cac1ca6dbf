import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hookOps, IP_VS_CONN_F_MASQ, IPPROTO_TCP, IPPROTO_UDP, Ipvs } from '../../src/ipvs/index.js';
import type { NfHookState, NfNetns } from '../../src/netfilter/hooks.js';
import { FileSink } from '../../src/pcap/file-sink.js';
import { PcapWriter } from '../../src/pcap/pcap-writer.js';
import { buildTcp, buildUdp } from '../../src/wire/build.js';
import type { PacketBuffer } from '../../src/wire/packet-buffer.js';
import { missing } from '../helpers/tools.js';
import { captureProblems, tsharkFrames } from '../helpers/tshark.js';
import { ip } from './helpers.js';

const why = missing({ tools: ['tshark'] });
/** LINKTYPE_RAW: each record is an IPv4 packet with no link header. */
const LINKTYPE_RAW = 101;

describe.skipIf(why !== null)('ipvs NAT output decodes cleanly in tshark', () => {
  const dir = mkdtempSync(join(tmpdir(), `kwt-ipvs-${process.pid}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('DNATed requests and SNATed replies have good IP, TCP and UDP checksums', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    const web = ipvs.addService({ protocol: IPPROTO_TCP, addr: ip('10.43.199.15'), port: 18888, scheduler: 'rr' });
    ipvs.addDest(web, { addr: ip('10.42.0.134'), port: 8080, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
    const dns = ipvs.addService({ protocol: IPPROTO_UDP, addr: ip('10.43.0.10'), port: 53, scheduler: 'rr' });
    ipvs.addDest(dns, { addr: ip('10.42.1.2'), port: 53, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
    const sent: PacketBuffer[] = [];
    const netns: NfNetns = {
      node: 'n', netns: 'root', isLocalAddress: (a) => a === ip('10.43.199.15') || a === ip('10.43.0.10'), addressType: () => 'UNICAST',
      selectSourceAddress: () => undefined, sendLocal: (p) => void sent.push(p), now: () => 0, randomU32: () => 0,
    };
    const st = (hook: NfHookState['hook']): NfHookState => ({ hook, inDev: 'eth0', outDev: null, netns });
    const ops = hookOps(ipvs);
    const fin = ops.find((o) => o.hook === 'INPUT' && o.priority === 99)!.fn;
    const fout = ops.find((o) => o.hook === 'FORWARD' && o.priority === 100)!.fn;

    const file = join(dir, 'nat.pcap');
    const sink = new FileSink(file);
    const w = new PcapWriter(sink, { linktype: LINKTYPE_RAW });
    const rec = (p: PacketBuffer) => w.packet(0, p.buf.subarray(p.network, p.end));
    const payload = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: backend\r\n\r\n');
    const syn = buildTcp({ src: ip('10.42.4.15'), dst: ip('10.43.199.15'), ident: 1, dontFragment: true }, { srcPort: 40000, dstPort: 18888, seq: 1, ack: 0, flags: 0x02, window: 64240, urgent: 0, options: [] });
    rec(syn);
    fin(syn, st('INPUT'));
    rec(sent[0]!);
    const synack = buildTcp({ src: ip('10.42.0.134'), dst: ip('10.42.4.15'), ident: 2, dontFragment: true }, { srcPort: 8080, dstPort: 40000, seq: 9, ack: 2, flags: 0x12, window: 64240, urgent: 0, options: [] });
    fout(synack, st('FORWARD'));
    rec(synack);
    const data = buildTcp({ src: ip('10.42.4.15'), dst: ip('10.43.199.15'), ident: 3, dontFragment: true }, { srcPort: 40000, dstPort: 18888, seq: 2, ack: 10, flags: 0x18, window: 502, urgent: 0, options: [] }, payload);
    fin(data, st('INPUT'));
    rec(sent[1]!);
    const q = buildUdp({ src: ip('10.42.4.15'), dst: ip('10.43.0.10'), ident: 4 }, { srcPort: 5353, dstPort: 53, checksum: false }, new Uint8Array(20));
    fin(q, st('INPUT'));
    rec(sent[2]!);
    sink.close();

    const frames = tsharkFrames(file);
    expect(frames).toHaveLength(5);
    expect(captureProblems(frames)).toEqual([]);
    expect(frames.map((f) => `${f.fields.get('ip.src')?.[0]} > ${f.fields.get('ip.dst')?.[0]}`)).toEqual([
      '10.42.4.15 > 10.43.199.15', '10.42.4.15 > 10.42.0.134', '10.43.199.15 > 10.42.4.15', '10.42.4.15 > 10.42.0.134', '10.42.4.15 > 10.42.1.2',
    ]);
    expect(frames[1]!.fields.get('tcp.dstport')?.[0]).toBe('8080');
    expect(frames[1]!.fields.get('ip.ttl')?.[0]).toBe('63');
    expect(frames[2]!.fields.get('tcp.srcport')?.[0]).toBe('18888');
  });
});
