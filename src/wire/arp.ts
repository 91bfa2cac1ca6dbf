/**
 * ARP for Ethernet/IPv4 (RFC 826): the only kind Linux's arp_rcv accepts on an Ethernet
 * device. 28 bytes after the Ethernet header; requests carry a zero target MAC.
 */
import { checkRange, WireError } from './error.js';
import { readIpv4, writeIpv4, type Ipv4Addr } from './ipv4-address.js';
import { readMac, writeMac, type MacAddr } from './mac-address.js';
import { read16, write16 } from './checksum.js';
import { ETHERTYPE_IPV4 } from './ethernet.js';

export const ARP_LEN = 28;
export const ARP_HTYPE_ETHERNET = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

const F = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 } as const;

export interface ArpRepr {
  /** 1 request, 2 reply (any 16-bit value round-trips). */
  op: number;
  senderMac: MacAddr;
  senderIp: Ipv4Addr;
  targetMac: MacAddr;
  targetIp: Ipv4Addr;
}

export class ArpPacket {
  private constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
  ) {}

  static unchecked(bytes: Uint8Array, offset = 0): ArpPacket {
    return new ArpPacket(bytes, offset);
  }

  /** Validates length and the Ethernet/IPv4 hardware and protocol fields. */
  static checked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): ArpPacket {
    checkRange('arp', bytes, offset, length);
    if (length < ARP_LEN) throw new WireError('arp.length', `${length} bytes, need ${ARP_LEN}`);
    const htype = read16(bytes, offset + F.HTYPE);
    if (htype !== ARP_HTYPE_ETHERNET) throw new WireError('arp.htype', `${htype}, expected 1 (Ethernet)`);
    const ptype = read16(bytes, offset + F.PTYPE);
    if (ptype !== ETHERTYPE_IPV4) throw new WireError('arp.ptype', `0x${ptype.toString(16)}, expected 0x800 (IPv4)`);
    if (bytes[offset + F.HLEN] !== 6) throw new WireError('arp.hlen', `${bytes[offset + F.HLEN]}, expected 6`);
    if (bytes[offset + F.PLEN] !== 4) throw new WireError('arp.plen', `${bytes[offset + F.PLEN]}, expected 4`);
    return new ArpPacket(bytes, offset);
  }

  op(): number {
    return read16(this.bytes, this.offset + F.OPER);
  }
  senderMac(): MacAddr {
    return readMac(this.bytes, this.offset + F.SHA);
  }
  senderIp(): Ipv4Addr {
    return readIpv4(this.bytes, this.offset + F.SPA);
  }
  targetMac(): MacAddr {
    return readMac(this.bytes, this.offset + F.THA);
  }
  targetIp(): Ipv4Addr {
    return readIpv4(this.bytes, this.offset + F.TPA);
  }
}

export function arpHeaderLength(_repr?: ArpRepr): number {
  return ARP_LEN;
}

export function parseArp(bytes: Uint8Array, offset = 0, length = bytes.length - offset): ArpRepr {
  const p = ArpPacket.checked(bytes, offset, length);
  return { op: p.op(), senderMac: p.senderMac(), senderIp: p.senderIp(), targetMac: p.targetMac(), targetIp: p.targetIp() };
}

export function emitArp(repr: ArpRepr, bytes: Uint8Array, offset = 0): number {
  write16(bytes, offset + F.HTYPE, ARP_HTYPE_ETHERNET);
  write16(bytes, offset + F.PTYPE, ETHERTYPE_IPV4);
  bytes[offset + F.HLEN] = 6;
  bytes[offset + F.PLEN] = 4;
  write16(bytes, offset + F.OPER, repr.op);
  writeMac(bytes, offset + F.SHA, repr.senderMac);
  writeIpv4(bytes, offset + F.SPA, repr.senderIp);
  writeMac(bytes, offset + F.THA, repr.targetMac);
  writeIpv4(bytes, offset + F.TPA, repr.targetIp);
  return ARP_LEN;
}
