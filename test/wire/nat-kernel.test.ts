// NAT differential against a real kernel: frames captured before and after a Linux router
// DNATed and forwarded them (test/fixtures/wire/capture-nat.sh). Applying the model's DNAT,
// TTL decrement and MAC rewrite to the "in" frame must give the "out" frame byte for byte,
// checksums included.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EthernetFrame, IcmpPacket, Ipv4Packet, natDnat, natRewriteIcmpErrorQuote, natSetAddress, natSnat, PacketBuffer, parseIpv4, parseMac, setHeaderOffsets,
} from '../../src/wire/index.js';
import { toHex } from './fixtures.js';

const path = fileURLToPath(new URL('../fixtures/wire/real-kernel-dnat.txt', import.meta.url));
const rows = readFileSync(path, 'utf8').split('\n').filter((l) => l.includes(' | ') && !l.startsWith('#')).map((l) => {
  const bar = l.lastIndexOf(' | ');
  const head = l.slice(0, bar);
  return { dir: head.slice(head.lastIndexOf(' ') + 1), bytes: Uint8Array.from(Buffer.from(l.slice(bar + 3), 'hex')) };
});
const ins = rows.filter((r) => r.dir === 'in');
const outs = rows.filter((r) => r.dir === 'out');
const backIns = rows.filter((r) => r.dir === 'back-in');
const backOuts = rows.filter((r) => r.dir === 'back-out');

const BACKEND = parseIpv4('10.201.1.2');
const ROUTER_S0 = parseMac('02:00:00:00:02:fe');
const SERVER = parseMac('02:00:00:00:02:02');
/** The DNAT rules of capture-nat.sh: tcp 80 -> 8080, udp 53 -> 5353, icmp address only. */
const PORT_MAP: Record<number, number> = { 80: 8080, 53: 5353 };
const SERVICE = parseIpv4('10.201.9.9');
const ROUTER_C0 = parseMac('02:00:00:00:01:fe');
const CLIENT = parseMac('02:00:00:00:01:01');
const BACK_PORT: Record<number, number> = { 8080: 80, 5353: 53 };

/** ip_forward's part: TTL - 1 and the new link header. */
function forward(pkt: PacketBuffer, src: number, dst: number): void {
  Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network).decrementTtl();
  const eth = EthernetFrame.checked(pkt.buf, pkt.mac);
  eth.setSrc(src as never);
  eth.setDst(dst as never);
}

describe('DNAT + forward, compared with a real Linux router', () => {
  it('has the four captured pairs (TCP SYN, UDP, UDP without checksum, ICMP echo)', () => {
    expect(ins.length).toBe(4);
    expect(outs.length).toBe(4);
  });

  for (let i = 0; i < 4; i++) {
    it(`pair ${i}: model output equals the kernel's bytes`, () => {
      const pkt = setHeaderOffsets(PacketBuffer.from(ins[i]!.bytes));
      const ip = Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network);
      if (ip.protocol() === 1) {
        natSetAddress(pkt, 'dst', BACKEND);
      } else {
        const dport = (pkt.buf[pkt.transport + 2]! << 8) | pkt.buf[pkt.transport + 3]!;
        natDnat(pkt, BACKEND, PORT_MAP[dport]!);
      }
      ip.decrementTtl(); // ip_forward: ip_decrease_ttl
      const eth = EthernetFrame.checked(pkt.buf, pkt.mac);
      eth.setSrc(ROUTER_S0);
      eth.setDst(SERVER);
      expect(toHex(pkt.data())).toBe(toHex(outs[i]!.bytes));
    });
  }

  it('has the four answers captured on the way back (RST, two port unreachables, echo reply)', () => {
    expect(backIns.length).toBe(4);
    expect(backOuts.length).toBe(4);
  });

  for (let i = 0; i < 4; i++) {
    it(`answer ${i}: the reverse translation (un-DNAT, ICMP errors' quotes included) equals the kernel's bytes`, () => {
      const pkt = setHeaderOffsets(PacketBuffer.from(backIns[i]!.bytes));
      const ip = Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network);
      if (ip.protocol() === 1 && IcmpPacket.checked(pkt.buf, pkt.transport, ip.payloadLength()).isError()) {
        // nf_nat_icmp_reply_translation: the quoted packet (client -> backend) gets the service
        // back as its destination, then the outer source is translated like any reply.
        const q = pkt.transport + 8;
        const qport = (pkt.buf[q + 22]! << 8) | pkt.buf[q + 23]!;
        natRewriteIcmpErrorQuote(pkt, { dst: SERVICE, dstPort: BACK_PORT[qport]! });
        natSetAddress(pkt, 'src', SERVICE);
      } else if (ip.protocol() === 1) {
        natSetAddress(pkt, 'src', SERVICE);
      } else {
        const sport = (pkt.buf[pkt.transport]! << 8) | pkt.buf[pkt.transport + 1]!;
        natSnat(pkt, SERVICE, BACK_PORT[sport]!);
      }
      forward(pkt, ROUTER_C0, CLIENT);
      expect(toHex(pkt.data())).toBe(toHex(backOuts[i]!.bytes));
    });
  }
});
