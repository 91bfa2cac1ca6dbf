/**
 * ICMP for IPv4 (RFC 792): echo request/reply, destination unreachable (all codes of
 * include/uapi/linux/icmp.h, fragmentation needed with the next-hop MTU of RFC 1191), time
 * exceeded, redirect, parameter problem; anything else is kept as `other`. The checksum covers
 * the ICMP message only (no pseudo-header).
 */
import { checkRange, WireError } from './error.js';
import { readIpv4, writeIpv4, type Ipv4Addr } from './ipv4-address.js';
import { internetChecksum, read16, read32, write16, write32 } from './checksum.js';
import { IPV4_MIN_HEADER_LEN } from './ipv4.js';

export const ICMP_HEADER_LEN = 8;

/** Types (ICMP_*). */
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;

/** Destination unreachable codes, as include/uapi/linux/icmp.h. */
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_SR_FAILED = 5;
export const ICMP_NET_UNKNOWN = 6;
export const ICMP_HOST_UNKNOWN = 7;
export const ICMP_HOST_ISOLATED = 8;
export const ICMP_NET_ANO = 9;
export const ICMP_HOST_ANO = 10;
export const ICMP_NET_UNR_TOS = 11;
export const ICMP_HOST_UNR_TOS = 12;
/** Administratively prohibited: what iptables REJECT --reject-with icmp-admin-prohibited sends. */
export const ICMP_PKT_FILTERED = 13;
export const ICMP_PREC_VIOLATION = 14;
export const ICMP_PREC_CUTOFF = 15;

/** Time exceeded codes. */
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;

const F = { TYPE: 0, CODE: 1, CHECKSUM: 2, REST: 4, IDENT: 4, SEQ: 6, MTU: 6, DATA: 8 } as const;

/**
 * An ICMP message. Errors carry `quote`: the start of the offending IP packet (its header +
 * at least 8 bytes; see linuxIcmpErrorQuote). A message whose unused bytes are not zero, or an
 * echo with a non-zero code, parses as `other` so that nothing is lost.
 */
export type IcmpRepr =
  | { kind: 'echo-request'; ident: number; seq: number; data: Uint8Array }
  | { kind: 'echo-reply'; ident: number; seq: number; data: Uint8Array }
  | { kind: 'dest-unreachable'; code: number; nextHopMtu: number; quote: Uint8Array }
  | { kind: 'time-exceeded'; code: number; quote: Uint8Array }
  | { kind: 'redirect'; code: number; gateway: Ipv4Addr; quote: Uint8Array }
  | { kind: 'parameter-problem'; code: number; pointer: number; quote: Uint8Array }
  | { kind: 'other'; type: number; code: number; rest: number; data: Uint8Array };

export class IcmpPacket {
  private constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
    /** The ICMP message length (the IP payload length). */
    readonly length: number,
  ) {}

  static unchecked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): IcmpPacket {
    return new IcmpPacket(bytes, offset, length);
  }

  /** `length` is the message length (IP payload length); at least the 8-byte header. */
  static checked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): IcmpPacket {
    checkRange('icmp', bytes, offset, length);
    if (length < ICMP_HEADER_LEN) throw new WireError('icmp.header', `${length} bytes, need ${ICMP_HEADER_LEN}`);
    return new IcmpPacket(bytes, offset, length);
  }

  type(): number {
    return this.bytes[this.offset + F.TYPE]!;
  }
  code(): number {
    return this.bytes[this.offset + F.CODE]!;
  }
  checksum(): number {
    return read16(this.bytes, this.offset + F.CHECKSUM);
  }
  /** Bytes 4..7 as one number (the kernel's icmph->un.gateway). */
  rest(): number {
    return read32(this.bytes, this.offset + F.REST);
  }
  /** Echo identifier (bytes 4..5). */
  ident(): number {
    return read16(this.bytes, this.offset + F.IDENT);
  }
  /** Echo sequence number (bytes 6..7). */
  seq(): number {
    return read16(this.bytes, this.offset + F.SEQ);
  }
  /** Next-hop MTU of a fragmentation-needed message (bytes 6..7). */
  nextHopMtu(): number {
    return read16(this.bytes, this.offset + F.MTU);
  }
  isError(): boolean {
    const t = this.type();
    return t === ICMP_DEST_UNREACH || t === ICMP_TIME_EXCEEDED || t === ICMP_PARAMETERPROB || t === ICMP_REDIRECT || t === 4;
  }
  dataOffset(): number {
    return this.offset + ICMP_HEADER_LEN;
  }
  /** Echo data, or an error's quoted packet (a view). */
  data(): Uint8Array {
    return this.bytes.subarray(this.offset + ICMP_HEADER_LEN, this.offset + this.length);
  }
  checksumValid(): boolean {
    return internetChecksum(this.bytes, this.offset, this.length) === 0;
  }

  setIdent(v: number): void {
    write16(this.bytes, this.offset + F.IDENT, v);
  }
  setChecksum(c: number): void {
    write16(this.bytes, this.offset + F.CHECKSUM, c);
  }
  fillChecksum(): void {
    this.setChecksum(0);
    this.setChecksum(internetChecksum(this.bytes, this.offset, this.length));
  }
}

export function icmpHeaderLength(_repr?: IcmpRepr): number {
  return ICMP_HEADER_LEN;
}

/** Header + data: the IP payload length of this message. */
export function icmpLength(repr: IcmpRepr): number {
  return ICMP_HEADER_LEN + ('data' in repr ? repr.data.length : repr.quote.length);
}

export function parseIcmp(bytes: Uint8Array, offset = 0, length = bytes.length - offset): IcmpRepr {
  const p = IcmpPacket.checked(bytes, offset, length);
  const type = p.type();
  const code = p.code();
  const rest = p.rest();
  const data = p.data().slice();
  switch (type) {
    case ICMP_ECHO:
    case ICMP_ECHOREPLY:
      if (code === 0) return { kind: type === ICMP_ECHO ? 'echo-request' : 'echo-reply', ident: p.ident(), seq: p.seq(), data };
      break;
    case ICMP_DEST_UNREACH:
      if (rest >>> 16 === 0) return { kind: 'dest-unreachable', code, nextHopMtu: rest & 0xffff, quote: data };
      break;
    case ICMP_TIME_EXCEEDED:
      if (rest === 0) return { kind: 'time-exceeded', code, quote: data };
      break;
    case ICMP_REDIRECT:
      return { kind: 'redirect', code, gateway: readIpv4(bytes, offset + F.REST), quote: data };
    case ICMP_PARAMETERPROB:
      if ((rest & 0xffffff) === 0) return { kind: 'parameter-problem', code, pointer: rest >>> 24, quote: data };
      break;
  }
  return { kind: 'other', type, code, rest, data };
}

/** Writes the whole message (header, data, checksum) at `offset`; answers its length. */
export function emitIcmp(repr: IcmpRepr, bytes: Uint8Array, offset = 0): number {
  let type: number;
  let code = 0;
  let body: Uint8Array;
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      type = repr.kind === 'echo-request' ? ICMP_ECHO : ICMP_ECHOREPLY;
      write16(bytes, offset + F.IDENT, repr.ident);
      write16(bytes, offset + F.SEQ, repr.seq);
      body = repr.data;
      break;
    case 'dest-unreachable':
      type = ICMP_DEST_UNREACH;
      code = repr.code;
      // Linux passes the MTU as icmp_send's info = htonl(mtu): bytes 4..5 stay 0.
      write32(bytes, offset + F.REST, repr.nextHopMtu & 0xffff);
      body = repr.quote;
      break;
    case 'time-exceeded':
      type = ICMP_TIME_EXCEEDED;
      code = repr.code;
      write32(bytes, offset + F.REST, 0);
      body = repr.quote;
      break;
    case 'redirect':
      type = ICMP_REDIRECT;
      code = repr.code;
      writeIpv4(bytes, offset + F.REST, repr.gateway);
      body = repr.quote;
      break;
    case 'parameter-problem':
      type = ICMP_PARAMETERPROB;
      code = repr.code;
      write32(bytes, offset + F.REST, (repr.pointer & 0xff) * 0x1000000);
      body = repr.quote;
      break;
    case 'other':
      type = repr.type;
      code = repr.code;
      write32(bytes, offset + F.REST, repr.rest);
      body = repr.data;
      break;
  }
  bytes[offset + F.TYPE] = type;
  bytes[offset + F.CODE] = code;
  write16(bytes, offset + F.CHECKSUM, 0);
  bytes.set(body, offset + F.DATA);
  const len = ICMP_HEADER_LEN + body.length;
  write16(bytes, offset + F.CHECKSUM, internetChecksum(bytes, offset, len));
  return len;
}

/**
 * The bytes of the offending packet that Linux quotes in an ICMP error, as __icmp_send
 * (net/ipv4/icmp.c): room = min(route MTU, 576) - 20 - reply IP options - 8, and the quote is
 * the packet from its IP header, cut to room. So a small datagram is quoted whole and a large
 * one to 548 bytes, not just header + 8. Answers null where Linux sends nothing (room <= 20).
 * `offending` starts at the IP header; bytes past its total length (padding) are not quoted,
 * as ip_rcv trims the skb to tot_len. The answer is a view of `offending`.
 */
export function linuxIcmpErrorQuote(offending: Uint8Array, routeMtu = 1500, replyOptionsLength = 0): Uint8Array | null {
  const room = Math.min(routeMtu, 576) - IPV4_MIN_HEADER_LEN - replyOptionsLength - ICMP_HEADER_LEN;
  if (room <= IPV4_MIN_HEADER_LEN) return null;
  let len = offending.length;
  if (len >= 4 && offending[0]! >>> 4 === 4) len = Math.min(len, read16(offending, 2));
  return offending.subarray(0, Math.min(len, room));
}
