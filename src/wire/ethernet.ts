/**
 * Ethernet II frames (no preamble, no FCS, as captures show them), with one 802.1Q tag
 * recognised. After `EthernetFrame.checked` no accessor throws.
 */
import { checkRange, WireError } from './error.js';
import { readMac, writeMac, type MacAddr } from './mac-address.js';
import { read16, write16 } from './checksum.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;

export const ETHERNET_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;

/** Byte offsets within the header. */
const F = { DST: 0, SRC: 6, TYPE: 12, TCI: 14, INNER_TYPE: 16 } as const;

/** An 802.1Q tag: priority code point, drop eligible indicator, VLAN id. */
export interface VlanTag {
  pcp: number;
  dei: boolean;
  vid: number;
}

export interface EthernetRepr {
  dst: MacAddr;
  src: MacAddr;
  /** The payload's EtherType (after the 802.1Q tag when there is one). */
  ethertype: number;
  vlan?: VlanTag;
}

/** A view over an Ethernet frame at `offset` in `bytes`. */
export class EthernetFrame {
  private constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
    readonly length: number,
  ) {}

  /** No validation: for emitting into a buffer of at least `ethernetHeaderLength` bytes. */
  static unchecked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): EthernetFrame {
    return new EthernetFrame(bytes, offset, length);
  }

  /** Validates the header is all there (tag included); afterwards no accessor throws. */
  static checked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): EthernetFrame {
    checkRange('ethernet', bytes, offset, length);
    if (length < ETHERNET_HEADER_LEN) throw new WireError('ethernet.header', `${length} bytes, need ${ETHERNET_HEADER_LEN}`);
    if (read16(bytes, offset + F.TYPE) === ETHERTYPE_VLAN && length < ETHERNET_HEADER_LEN + VLAN_TAG_LEN) {
      throw new WireError('ethernet.vlan', `${length} bytes, an 802.1Q tagged header needs ${ETHERNET_HEADER_LEN + VLAN_TAG_LEN}`);
    }
    return new EthernetFrame(bytes, offset, length);
  }

  dst(): MacAddr {
    return readMac(this.bytes, this.offset + F.DST);
  }
  src(): MacAddr {
    return readMac(this.bytes, this.offset + F.SRC);
  }
  /** True when an 802.1Q tag follows the source address. */
  hasVlan(): boolean {
    return read16(this.bytes, this.offset + F.TYPE) === ETHERTYPE_VLAN;
  }
  /** The tag control information (PCP:3 DEI:1 VID:12), or -1 when untagged. */
  vlanTci(): number {
    return this.hasVlan() ? read16(this.bytes, this.offset + F.TCI) : -1;
  }
  /** The payload's EtherType, skipping the 802.1Q tag. */
  ethertype(): number {
    return read16(this.bytes, this.offset + (this.hasVlan() ? F.INNER_TYPE : F.TYPE));
  }
  headerLength(): number {
    return this.hasVlan() ? ETHERNET_HEADER_LEN + VLAN_TAG_LEN : ETHERNET_HEADER_LEN;
  }
  /** Absolute offset of the payload in `bytes`. */
  payloadOffset(): number {
    return this.offset + this.headerLength();
  }
  payload(): Uint8Array {
    return this.bytes.subarray(this.payloadOffset(), this.offset + this.length);
  }

  setDst(m: MacAddr): void {
    writeMac(this.bytes, this.offset + F.DST, m);
  }
  setSrc(m: MacAddr): void {
    writeMac(this.bytes, this.offset + F.SRC, m);
  }
}

export function ethernetHeaderLength(repr: EthernetRepr): number {
  return repr.vlan ? ETHERNET_HEADER_LEN + VLAN_TAG_LEN : ETHERNET_HEADER_LEN;
}

export function parseEthernet(bytes: Uint8Array, offset = 0, length = bytes.length - offset): EthernetRepr {
  const f = EthernetFrame.checked(bytes, offset, length);
  const repr: EthernetRepr = { dst: f.dst(), src: f.src(), ethertype: f.ethertype() };
  const tci = f.vlanTci();
  if (tci >= 0) repr.vlan = { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0xfff };
  return repr;
}

/** Writes the header at `offset`; answers its length. */
export function emitEthernet(repr: EthernetRepr, bytes: Uint8Array, offset = 0): number {
  writeMac(bytes, offset + F.DST, repr.dst);
  writeMac(bytes, offset + F.SRC, repr.src);
  if (repr.vlan) {
    const v = repr.vlan;
    write16(bytes, offset + F.TYPE, ETHERTYPE_VLAN);
    write16(bytes, offset + F.TCI, ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.vid & 0xfff));
    write16(bytes, offset + F.INNER_TYPE, repr.ethertype);
    return ETHERNET_HEADER_LEN + VLAN_TAG_LEN;
  }
  write16(bytes, offset + F.TYPE, repr.ethertype);
  return ETHERNET_HEADER_LEN;
}
