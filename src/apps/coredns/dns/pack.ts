import * as dnsPacket from 'dns-packet';
import { WireError } from '../../../wire/error.js';
import type { Msg, RR } from './message.js';

/**
 * A DNS encoder with name compression, for the replies CoreDNS compresses (miekg `Truncate`
 * turns compression on when the uncompressed reply does not fit). Names compress as miekg
 * packs them: owner names, question names and the RFC 1035 rdata names (CNAME, NS, PTR, MX,
 * SOA) may become pointers; SRV targets are written in full (RFC 2782) but, like every name,
 * can be pointed to later.
 * Unknown types fall back to dns-packet's uncompressed record encoding.
 */
class Packer {
  readonly bytes: number[] = [];
  private names = new Map<string, number>();
  private inserted: string[] = [];
  constructor(private readonly compress: boolean) {}

  /** A point to roll back to: bytes written and compression targets learnt since. */
  mark(): [number, number] {
    return [this.bytes.length, this.inserted.length];
  }
  rollback(m: [number, number]): void {
    this.bytes.length = m[0];
    for (const k of this.inserted.splice(m[1])) this.names.delete(k);
  }
  setU16(at: number, v: number): void {
    this.bytes[at] = (v >> 8) & 0xff;
    this.bytes[at + 1] = v & 0xff;
  }

  u8(v: number): void {
    this.bytes.push(v & 0xff);
  }
  u16(v: number): void {
    this.bytes.push((v >> 8) & 0xff, v & 0xff);
  }
  u32(v: number): void {
    this.bytes.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  raw(b: Uint8Array): void {
    for (const x of b) this.bytes.push(x);
  }

  name(n: string, compressible: boolean): void {
    const s = n === '' || n === '.' ? '' : n.replace(/\.$/, '');
    if (s === '') {
      this.u8(0);
      return;
    }
    const labels = s.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      if (this.compress) {
        // As miekg packDomainName: every name is remembered for later pointers, but only
        // compressible ones may themselves become a pointer.
        const p = this.names.get(suffix);
        if (p !== undefined) {
          if (compressible) {
            this.u16(0xc000 | p);
            return;
          }
        } else if (this.bytes.length < 0x3fff) {
          this.names.set(suffix, this.bytes.length);
          this.inserted.push(suffix);
        }
      }
      const lab = Buffer.from(labels[i]!, 'utf8');
      if (lab.length > 63 || lab.length === 0) throw new WireError('dns.name', `bad label in "${n}"`);
      this.u8(lab.length);
      this.raw(lab);
    }
    this.u8(0);
  }

  charString(s: string | Uint8Array): void {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    if (b.length > 255) throw new WireError('dns.txt', 'character string over 255 bytes');
    this.u8(b.length);
    this.raw(b);
  }
}

const TYPE_CODES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41 };

function ipv6Bytes(s: string): number[] {
  const [h, t] = s.includes('::') ? s.split('::') : [s, undefined];
  const head = h ? h.split(':') : [];
  const tail = t !== undefined && t !== '' ? t.split(':') : [];
  const groups = [...head, ...Array<string>(t !== undefined ? 8 - head.length - tail.length : 0).fill('0'), ...tail];
  const out: number[] = [];
  for (const g of groups) {
    const v = parseInt(g, 16);
    out.push((v >> 8) & 0xff, v & 0xff);
  }
  return out;
}

function packRR(p: Packer, r: RR): void {
  const code = TYPE_CODES[r.type];
  if (code === undefined) {
    const b = (dnsPacket as unknown as { answer: { encode(a: RR): Buffer } }).answer.encode(r);
    p.raw(b);
    return;
  }
  p.name(r.name, true);
  p.u16(code);
  p.u16(1); // IN
  p.u32(r.ttl ?? 0);
  const lenAt = p.bytes.length;
  p.u16(0);
  const d = r.data as unknown;
  switch (r.type) {
    case 'A':
      for (const o of String(d).split('.')) p.u8(Number(o));
      break;
    case 'AAAA':
      for (const b of ipv6Bytes(String(d))) p.u8(b);
      break;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      p.name(String(d), true);
      break;
    case 'MX': {
      const mx = d as { preference?: number; exchange: string };
      p.u16(mx.preference ?? 0);
      p.name(mx.exchange, true);
      break;
    }
    case 'SOA': {
      const s = d as { mname: string; rname: string; serial?: number; refresh?: number; retry?: number; expire?: number; minimum?: number };
      p.name(s.mname, true);
      p.name(s.rname, true);
      p.u32(s.serial ?? 0);
      p.u32(s.refresh ?? 0);
      p.u32(s.retry ?? 0);
      p.u32(s.expire ?? 0);
      p.u32(s.minimum ?? 0);
      break;
    }
    case 'SRV': {
      const s = d as { priority?: number; weight?: number; port: number; target: string };
      p.u16(s.priority ?? 0);
      p.u16(s.weight ?? 0);
      p.u16(s.port);
      p.name(s.target, false);
      break;
    }
    case 'TXT': {
      const parts = Array.isArray(d) ? d : [d];
      for (const x of parts) p.charString(x as string | Uint8Array);
      break;
    }
    case 'HINFO': {
      const h = d as { cpu: string; os: string };
      p.charString(h.cpu);
      p.charString(h.os);
      break;
    }
  }
  const len = p.bytes.length - lenAt - 2;
  p.bytes[lenAt] = (len >> 8) & 0xff;
  p.bytes[lenAt + 1] = len & 0xff;
}

function flagsOf(m: Msg): number {
  return (
    (m.qr ? 0x8000 : 0) |
    ((m.opcode & 0xf) << 11) |
    (m.aa ? 1 << 10 : 0) |
    (m.tc ? 1 << 9 : 0) |
    (m.rd ? 1 << 8 : 0) |
    (m.ra ? 1 << 7 : 0) |
    (m.z ? 1 << 6 : 0) |
    (m.ad ? 1 << 5 : 0) |
    (m.cd ? 1 << 4 : 0) |
    (m.rcode & 0xf)
  );
}

function packOpt(p: Packer, m: Msg): void {
  const e = m.edns!;
  p.u8(0);
  p.u16(41);
  p.u16(e.udpSize);
  p.u8((m.rcode >> 4) & 0xff);
  p.u8(e.version);
  p.u16(e.do ? 0x8000 : 0);
  const lenAt = p.bytes.length;
  p.u16(0);
  for (const o of e.options) {
    p.u16(o.code);
    p.u16(o.data?.length ?? 0);
    if (o.data) p.raw(o.data);
  }
  const len = p.bytes.length - lenAt - 2;
  p.bytes[lenAt] = (len >> 8) & 0xff;
  p.bytes[lenAt + 1] = len & 0xff;
}

/** Packs a message with compression. */
export function packCompressed(m: Msg): Uint8Array {
  return packMsg(m, true);
}

/** Packs a message, compressed or not (uncompressed is byte-identical to dns-packet's encode). */
export function packMsg(m: Msg, compress: boolean): Uint8Array {
  const p = new Packer(compress);
  p.u16(m.id);
  p.u16(flagsOf(m));
  p.u16(m.question.length);
  p.u16(m.answer.length);
  p.u16(m.ns.length);
  p.u16(m.extra.length + (m.edns ? 1 : 0));
  for (const q of m.question) {
    p.name(q.name, true);
    p.u16(TYPE_CODES[q.type] ?? (dnsPacketTypeCode(q.type)));
    p.u16(1);
  }
  for (const r of m.answer) packRR(p, r);
  for (const r of m.ns) packRR(p, r);
  for (const r of m.extra) packRR(p, r);
  if (m.edns) packOpt(p, m);
  return Uint8Array.from(p.bytes);
}

function dnsPacketTypeCode(t: string): number {
  const b = dnsPacket.encode({ type: 'query', id: 0, questions: [{ name: '.', type: t as dnsPacket.RecordType }] });
  return (b[b.length - 4]! << 8) | b[b.length - 3]!;
}

/**
 * miekg `Msg.Truncate(size)`: keeps as many whole records (Answer, then Authority, then
 * Additional) as fit `size` with compression, OPT always kept (its length comes off the
 * budget first), TC set if any were dropped. Packs incrementally, rolling back the record
 * that overflows, so it is linear in the message size.
 */
export function truncateCompressed(m: Msg, size: number): void {
  let limit = Math.max(512, size);
  if (m.edns) limit -= 11 + m.edns.options.reduce((n, o) => n + 4 + (o.data?.length ?? 0), 0);
  const p = new Packer(true);
  p.u16(m.id);
  p.u16(0);
  for (let i = 0; i < 4; i++) p.u16(0);
  for (const q of m.question) {
    p.name(q.name, true);
    p.u16(TYPE_CODES[q.type] ?? dnsPacketTypeCode(q.type));
    p.u16(1);
  }
  const kept: RR[][] = [[], [], []];
  let full = p.bytes.length >= limit;
  let dropped = false;
  [m.answer, m.ns, m.extra].forEach((section, si) => {
    for (const r of section) {
      if (full) {
        dropped = true;
        continue;
      }
      const mk = p.mark();
      packRR(p, r);
      if (p.bytes.length > limit) {
        p.rollback(mk);
        full = true;
        dropped = true;
        continue;
      }
      kept[si]!.push(r);
      if (p.bytes.length === limit) full = true;
    }
  });
  m.answer = kept[0]!;
  m.ns = kept[1]!;
  m.extra = kept[2]!;
  if (dropped) m.tc = true;
}
