/**
 * The VXLAN header (RFC 7348): flags byte (0x08 = I, "VNI valid"), 24 reserved bits, the
 * 24-bit VNI, 8 reserved bits. Flannel's default UDP port is the kernel's 8472, not IANA 4789.
 */
import { checkRange, WireError } from './error.js';

export const VXLAN_HEADER_LEN = 8;
/** The I flag: the VNI is valid. vxlan_rcv drops packets without it. */
export const VXLAN_FLAG_I = 0x08;
/** The Linux vxlan module's default destination port (udp_port), used by flannel. */
export const VXLAN_PORT_LINUX = 8472;
export const VXLAN_PORT_IANA = 4789;

const F = { FLAGS: 0, VNI: 4 } as const;

export interface VxlanRepr {
  /** The flags byte; 0x08 for every frame flannel sends. */
  flags: number;
  /** 24-bit VXLAN network identifier. */
  vni: number;
}

export class VxlanPacket {
  private constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
    readonly length: number,
  ) {}

  static unchecked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): VxlanPacket {
    return new VxlanPacket(bytes, offset, length);
  }

  static checked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): VxlanPacket {
    checkRange('vxlan', bytes, offset, length);
    if (length < VXLAN_HEADER_LEN) throw new WireError('vxlan.header', `${length} bytes, need ${VXLAN_HEADER_LEN}`);
    return new VxlanPacket(bytes, offset, length);
  }

  flags(): number {
    return this.bytes[this.offset + F.FLAGS]!;
  }
  /** True when the I flag is set. */
  vniValid(): boolean {
    return (this.bytes[this.offset + F.FLAGS]! & VXLAN_FLAG_I) !== 0;
  }
  vni(): number {
    const b = this.bytes;
    const o = this.offset + F.VNI;
    return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
  }
  payloadOffset(): number {
    return this.offset + VXLAN_HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.bytes.subarray(this.offset + VXLAN_HEADER_LEN, this.offset + this.length);
  }
}

export function vxlanHeaderLength(_repr?: VxlanRepr): number {
  return VXLAN_HEADER_LEN;
}

export function parseVxlan(bytes: Uint8Array, offset = 0, length = bytes.length - offset): VxlanRepr {
  const p = VxlanPacket.checked(bytes, offset, length);
  return { flags: p.flags(), vni: p.vni() };
}

/** Writes the 8-byte header with the reserved bits zero; answers 8. */
export function emitVxlan(repr: VxlanRepr, bytes: Uint8Array, offset = 0): number {
  bytes[offset] = repr.flags;
  bytes[offset + 1] = 0;
  bytes[offset + 2] = 0;
  bytes[offset + 3] = 0;
  bytes[offset + 4] = repr.vni >>> 16;
  bytes[offset + 5] = repr.vni >>> 8;
  bytes[offset + 6] = repr.vni;
  bytes[offset + 7] = 0;
  return VXLAN_HEADER_LEN;
}
