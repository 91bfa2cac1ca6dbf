// NAT differential against a real kernel: frames captured before and after a Linux router
// DNATed and forwarded them (test/fixtures/wire/capture-nat.sh). Applying the model's DNAT,
// TTL decrement and MAC rewrite to the "in" frame must give the "out" frame byte for byte,
// checksums included.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EthernetFrame, Ipv4Packet, natDnat, natSetAddress, PacketBuffer, parseIpv4, parseMac, setHeaderOffsets } from '../../src/wire/index.js';
import { toHex } from './fixtures.js';

const path = fileURLToPath(new URL('../fixtures/wire/real-kernel-dnat.txt', import.meta.url));
const rows = readFileSync(path, 'utf8').split('\n').filter((l) => l.includes(' | ') && !l.startsWith('#')).map((l) => {
  const bar = l.lastIndexOf(' | ');
  const head = l.slice(0, bar);
  return { dir: head.endsWith(' in') ? 'in' : 'out', bytes: Uint8Array.from(Buffer.from(l.slice(bar + 3), 'hex')) };
});
const ins = rows.filter((r) => r.dir === 'in');
const outs = rows.filter((r) => r.dir === 'out');

const BACKEND = parseIpv4('10.201.1.2');
const ROUTER_S0 = parseMac('02:00:00:00:02:fe');
const SERVER = parseMac('02:00:00:00:02:02');
/** The DNAT rules of capture-nat.sh: tcp 80 -> 8080, udp 53 -> 5353, icmp address only. */
const PORT_MAP: Record<number, number> = { 80: 8080, 53: 5353 };

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
});
