import { describe, expect, it } from 'vitest';
import {
  ArpPacket, buildArpFrame, emitArp, emitEthernet, EthernetFrame, ethernetHeaderLength, parseArp, parseEthernet, parseIpv4,
  parseMac, WireError, ARPOP_REPLY, ARPOP_REQUEST, ETHERTYPE_ARP, ETHERTYPE_IPV4, MAC_BROADCAST, MAC_ZERO,
} from '../../src/wire/index.js';
import { a5, captured, toHex } from './fixtures.js';

const A_MAC = parseMac('02:00:00:00:00:0a');
const B_MAC = parseMac('02:00:00:00:00:0b');
const A_IP = parseIpv4('10.200.0.1');
const B_IP = parseIpv4('10.200.0.2');

describe('ethernet', () => {
  const req = captured('ARP, Request');

  it('deconstructs a captured frame', () => {
    const f = EthernetFrame.checked(req);
    expect(f.dst()).toBe(MAC_BROADCAST);
    expect(f.src()).toBe(A_MAC);
    expect(f.ethertype()).toBe(ETHERTYPE_ARP);
    expect(f.hasVlan()).toBe(false);
    expect(f.vlanTci()).toBe(-1);
    expect(f.payload().length).toBe(28);
    expect(parseEthernet(req)).toEqual({ dst: MAC_BROADCAST, src: A_MAC, ethertype: ETHERTYPE_ARP });
  });

  it('constructs the same header into a 0xa5 buffer', () => {
    const b = a5(16);
    expect(emitEthernet(parseEthernet(req), b, 1)).toBe(14);
    expect(toHex(b.subarray(1, 15))).toBe(toHex(req.subarray(0, 14)));
    expect(b[0]).toBe(0xa5);
    expect(b[15]).toBe(0xa5);
  });

  it('recognises an 802.1Q tag and answers the inner EtherType', () => {
    const repr = { dst: B_MAC, src: A_MAC, ethertype: ETHERTYPE_IPV4, vlan: { pcp: 5, dei: true, vid: 100 } };
    const b = a5(18);
    expect(ethernetHeaderLength(repr)).toBe(18);
    emitEthernet(repr, b);
    expect(toHex(b.subarray(12))).toBe('8100b0640800');
    const f = EthernetFrame.checked(b);
    expect(f.hasVlan()).toBe(true);
    expect(f.ethertype()).toBe(ETHERTYPE_IPV4);
    expect(f.payloadOffset()).toBe(18);
    expect(parseEthernet(b)).toEqual(repr);
  });

  it('names the field of a short frame', () => {
    expect(() => EthernetFrame.checked(req.subarray(0, 13))).toThrowError(new WireError('ethernet.header', '13 bytes, need 14'));
    const tagged = new Uint8Array(16);
    tagged[12] = 0x81;
    expect(() => parseEthernet(tagged)).toThrow(/ethernet\.vlan/);
  });
});

describe('arp', () => {
  const req = captured('ARP, Request');
  const rep = captured('ARP, Reply');

  it('deconstructs a captured request: target MAC zero', () => {
    expect(parseArp(req, 14)).toEqual({ op: ARPOP_REQUEST, senderMac: A_MAC, senderIp: A_IP, targetMac: MAC_ZERO, targetIp: B_IP });
    const p = ArpPacket.checked(rep, 14);
    expect(p.op()).toBe(ARPOP_REPLY);
    expect(p.senderMac()).toBe(B_MAC);
    expect(p.targetIp()).toBe(A_IP);
  });

  it('builds the 42-byte request and reply frames byte for byte as Linux sent them', () => {
    const r = buildArpFrame({ op: ARPOP_REQUEST, senderMac: A_MAC, senderIp: A_IP, targetMac: MAC_ZERO, targetIp: B_IP });
    expect(toHex(r.data())).toBe(toHex(req));
    const p = buildArpFrame({ op: ARPOP_REPLY, senderMac: B_MAC, senderIp: B_IP, targetMac: A_MAC, targetIp: A_IP });
    expect(toHex(p.data())).toBe(toHex(rep));
    expect(p.network - p.mac).toBe(14);
  });

  it('constructs into a 0xa5 buffer', () => {
    const b = a5(30);
    expect(emitArp(parseArp(rep, 14), b, 1)).toBe(28);
    expect(toHex(b.subarray(1, 29))).toBe(toHex(rep.subarray(14)));
    expect(b[29]).toBe(0xa5);
  });

  it('rejects what arp_rcv would not take, naming the field', () => {
    const bad = req.slice(14);
    bad[1] = 6; // htype IEEE 802
    expect(() => parseArp(bad)).toThrow(/arp\.htype/);
    const bad2 = req.slice(14);
    bad2[2] = 0x86;
    expect(() => parseArp(bad2)).toThrow(/arp\.ptype/);
    const bad3 = req.slice(14);
    bad3[4] = 8;
    expect(() => parseArp(bad3)).toThrow(/arp\.hlen/);
    const bad4 = req.slice(14);
    bad4[5] = 16;
    expect(() => parseArp(bad4)).toThrow(/arp\.plen/);
    expect(() => parseArp(req.subarray(14, 41))).toThrow(/arp\.length/);
  });
});
