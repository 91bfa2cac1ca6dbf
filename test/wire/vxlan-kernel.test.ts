// VXLAN differential against the real kernel's vxlan device set up as flanneld does
// (test/fixtures/wire/capture-vxlan.sh): decapsulating each captured frame and encapsulating
// the inner frame again with the captured outer fields gives the captured bytes exactly,
// outer UDP checksum included; and the outer fields are what linux-path.md 5.1/5.4 says.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EthernetFrame, Ipv4Packet, PacketBuffer, UdpPacket, vxlanDecapsulate, vxlanEncapsulate, VXLAN_PORT_LINUX } from '../../src/wire/index.js';
import { toHex } from './fixtures.js';

const text = readFileSync(fileURLToPath(new URL('../fixtures/wire/real-kernel-vxlan.txt', import.meta.url)), 'utf8');
const frames = text.split('\n').filter((l) => l.includes(' | ') && !l.startsWith('#'))
  .map((l) => ({ what: l.slice(0, l.lastIndexOf(' | ')), bytes: Uint8Array.from(Buffer.from(l.slice(l.lastIndexOf(' | ') + 3), 'hex')) }));

describe('flannel VXLAN frames of a real kernel', () => {
  it('has the echo request/reply and SYN/RST, and the device had udpcsum on', () => {
    const inner = frames.map((f) => f.what.split(' / ')[1]!);
    expect(inner.length).toBe(4);
    expect(inner[0]).toMatch(/^IP 10\.42\.0\.0 > 10\.42\.1\.0: ICMP echo request/);
    expect(inner[1]).toMatch(/^IP 10\.42\.1\.0 > 10\.42\.0\.0: ICMP echo reply/);
    expect(inner[2]).toMatch(/^IP 10\.42\.0\.0\.\d+ > 10\.42\.1\.0\.80: Flags \[S\], .*options \[mss 1410,sackOK,TS val \d+ ecr 0,nop,wscale 10\]/);
    expect(inner[3]).toMatch(/^IP 10\.42\.1\.0\.80 > 10\.42\.0\.0\.\d+: Flags \[R\.\]/);
    expect(text).toMatch(/# ip -d link: vxlan id 1 local 192\.168\.4\.86 dev eth0 srcport 0 0 dstport 8472 nolearning ttl auto .*udpcsum/);
  });

  for (const f of frames) {
    it(`re-encapsulates to the same bytes: ${f.what.split(' / ')[1]!.slice(0, 60)}`, () => {
      const b = f.bytes;
      const eth = EthernetFrame.checked(b);
      const ip = Ipv4Packet.checked(b, 14);
      const udp = UdpPacket.checked(b, 34, ip.payloadLength());
      // What linux-path.md 5.1 and 5.4 say of the outer headers.
      expect([ip.tos(), ip.ttl(), ip.dontFragment(), ip.ident() !== 0]).toEqual([0, 64, false, true]);
      expect(udp.dstPort()).toBe(VXLAN_PORT_LINUX);
      expect(udp.srcPort()).toBeGreaterThanOrEqual(32768);
      expect(udp.srcPort()).toBeLessThanOrEqual(60999);
      expect(udp.checksum()).not.toBe(0);
      expect(udp.checksumValid(ip.src(), ip.dst())).toBe(true);

      const pkt = PacketBuffer.from(b);
      expect(vxlanDecapsulate(pkt, { verifyChecksum: true })).toEqual({ flags: 0x08, vni: 1 });
      vxlanEncapsulate(pkt, {
        eth: { dst: eth.dst(), src: eth.src() },
        ip: { src: ip.src(), dst: ip.dst(), ident: ip.ident() },
        srcPort: udp.srcPort(),
        vni: 1,
      });
      expect(toHex(pkt.data())).toBe(toHex(b));
    });
  }

  it('in this capture the ICMP exchange shared one source port and the TCP directions did not (udp_flow_src_port)', () => {
    const sport = (i: number) => UdpPacket.checked(frames[i]!.bytes, 34).srcPort();
    expect(sport(0)).toBe(sport(1));
    expect(sport(2)).not.toBe(sport(3));
  });
});
