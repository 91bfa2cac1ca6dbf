import * as dnsPacket from 'dns-packet';
import type { Answer, Question as PacketQuestion, RecordType } from 'dns-packet';
import { WireError } from '../../../wire/error.js';
import { packCompressed, packMsg } from './pack.js';

/**
 * A DNS message as CoreDNS's miekg/dns holds it (`dns.Msg`): header bits as booleans, the
 * full rcode as a number, and EDNS kept apart from the additional section. Wire bytes go
 * through `dns-packet`; this shape exists because dns-packet has no rcode/opcode encode
 * field and mixes OPT into additionals.
 */
export interface Question {
  name: string; // without trailing dot, root is '.', as dns-packet
  type: string; // 'A', 'AAAA', ... or 'UNKNOWN_n'
  class: string; // 'IN'
}

/** A resource record, the dns-packet shape minus OPT (see `Edns`). */
export type RR = Exclude<Answer, { type: 'OPT' }>;

export interface Edns {
  udpSize: number;
  do: boolean;
  version: number;
  extRcode: number;
  options: { code: number; data?: Buffer }[];
}

export interface Msg {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
  question: Question[];
  answer: RR[];
  ns: RR[];
  extra: RR[];
  edns: Edns | null;
  /** Encode with name compression (miekg `Compress`), set when a reply had to be truncated. */
  compress?: boolean;
  /** The bytes the ScrubWriter produced for this reply (the last change before the socket). */
  wire?: Uint8Array;
}

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  BADVERS: 16,
} as const;

const RCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Rcode).map(([k, v]) => [v, k]));

/** The rcode mnemonic as miekg `dns.RcodeToString` (and dig) print it. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RESERVED${rcode}`;
}

const OPCODE_NAMES: Record<number, string> = { 0: 'QUERY', 1: 'IQUERY', 2: 'STATUS', 4: 'NOTIFY', 5: 'UPDATE' };
export function opcodeName(op: number): string {
  return OPCODE_NAMES[op] ?? `RESERVED${op}`;
}

export function emptyMsg(): Msg {
  return {
    id: 0,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: false,
    ra: false,
    z: false,
    ad: false,
    cd: false,
    rcode: 0,
    question: [],
    answer: [],
    ns: [],
    extra: [],
    edns: null,
  };
}

/** A query as a stub resolver or dig builds it. */
export function newQuery(id: number, name: string, type: string, opts: { rd?: boolean; edns?: Edns | null } = {}): Msg {
  const m = emptyMsg();
  m.id = id;
  m.rd = opts.rd ?? true;
  m.question = [{ name: trimDot(name), type, class: 'IN' }];
  m.edns = opts.edns ?? null;
  return m;
}

/** Mirrors miekg `Msg.SetReply`: id, opcode, RD and CD copied, QR set, question echoed. */
export function setReply(req: Msg): Msg {
  const m = emptyMsg();
  m.id = req.id;
  m.qr = true;
  m.opcode = req.opcode;
  if (m.opcode === 0) {
    m.rd = req.rd;
    m.cd = req.cd;
  }
  m.question = req.question.length ? [{ ...req.question[0]! }] : [];
  return m;
}

/** Mirrors miekg `Msg.SetRcode`: SetReply plus the rcode. */
export function setRcode(req: Msg, rcode: number): Msg {
  const m = setReply(req);
  m.rcode = rcode;
  return m;
}

export function copyMsg(m: Msg): Msg {
  const rest: Msg = { ...m };
  delete rest.wire; // the copy will be changed; its bytes are no longer these
  return {
    ...rest,
    question: m.question.map((q) => ({ ...q })),
    answer: m.answer.map(copyRR),
    ns: m.ns.map(copyRR),
    extra: m.extra.map(copyRR),
    edns: m.edns ? { ...m.edns, options: [...m.edns.options] } : null,
  };
}

export function copyRR(r: RR): RR {
  return { ...r } as RR;
}

export function trimDot(name: string): string {
  if (name === '.' || name === '') return '.';
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** The FQDN form CoreDNS uses everywhere (`dns.Fqdn`): trailing dot, root is `.`. */
export function fqdn(name: string): string {
  if (name === '.' || name === '') return '.';
  return name.endsWith('.') ? name : `${name}.`;
}

// --- wire -----------------------------------------------------------------------------

function headerFlags(m: Msg): number {
  return (
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

function toPacket(m: Msg): dnsPacket.Packet {
  const additionals: Answer[] = [...m.extra];
  if (m.edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: m.edns.udpSize,
      extendedRcode: (m.rcode >> 4) & 0xff,
      ednsVersion: m.edns.version,
      flags: m.edns.do ? 1 << 15 : 0,
      flag_do: m.edns.do,
      options: m.edns.options as never,
    });
  }
  return {
    type: m.qr ? 'response' : 'query',
    id: m.id,
    flags: headerFlags(m),
    questions: m.question.map((q) => ({ name: q.name, type: q.type as RecordType, class: q.class as PacketQuestion['class'] })),
    answers: m.answer,
    authorities: m.ns,
    additionals,
  };
}

/**
 * Encodes uncompressed, which is what CoreDNS sends whenever the uncompressed reply fits
 * (miekg `Truncate` sets `Compress=false` then), so sizes match a real CoreDNS.
 */
export function encodeMsg(m: Msg): Uint8Array {
  if (m.wire) return m.wire;
  if (m.compress) return packCompressed(m);
  // dns-packet writes an OPT UDP size of 0 as 4096; BADVERS replies carry a real 0.
  if (m.edns && m.edns.udpSize === 0) return packMsg(m, false);
  try {
    const b = dnsPacket.encode(toPacket(m));
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new WireError('dns', `cannot encode message: ${(e as Error).message}`);
  }
}

export function msgLength(m: Msg): number {
  return dnsPacket.encodingLength(toPacket(m));
}

/** Decodes wire bytes; throws only WireError. */
export function decodeMsg(bytes: Uint8Array): Msg {
  if (bytes.length < 12) throw new WireError('dns.header', `need 12 bytes, have ${bytes.length}`);
  let p: dnsPacket.DecodedPacket;
  try {
    p = dnsPacket.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new WireError('dns', `malformed message: ${(e as Error).message}`);
  }
  const raw = ((bytes[2]! << 8) | bytes[3]!) >>> 0;
  const m = emptyMsg();
  m.id = p.id ?? 0;
  m.qr = (raw & 0x8000) !== 0;
  m.opcode = (raw >> 11) & 0xf;
  m.aa = p.flag_aa;
  m.tc = p.flag_tc;
  m.rd = p.flag_rd;
  m.ra = p.flag_ra;
  m.z = p.flag_z;
  m.ad = p.flag_ad;
  m.cd = p.flag_cd;
  m.rcode = raw & 0xf;
  m.question = (p.questions ?? []).map((q) => ({ name: q.name === '' ? '.' : q.name, type: q.type, class: String(q.class ?? 'IN') }));
  m.answer = (p.answers ?? []).filter(notOpt).map(normRR);
  m.ns = (p.authorities ?? []).filter(notOpt).map(normRR);
  for (const a of p.additionals ?? []) {
    if (a.type === 'OPT') {
      const o = a as dnsPacket.OptAnswer;
      m.edns = {
        udpSize: o.udpPayloadSize,
        do: o.flag_do,
        version: o.ednsVersion,
        extRcode: o.extendedRcode,
        options: o.options.map((x) => (x.data ? { code: x.code, data: x.data } : { code: x.code })),
      };
      m.rcode |= o.extendedRcode << 4;
    } else m.extra.push(normRR(a as RR));
  }
  return m;
}

function notOpt(a: Answer): a is RR {
  return a.type !== 'OPT';
}

function normRR(a: RR): RR {
  const r = { name: a.name === '' ? '.' : a.name, type: a.type, class: a.class ?? 'IN', ttl: a.ttl ?? 0, data: a.data } as RR;
  return r;
}

// --- record helpers --------------------------------------------------------------------

export function rrA(name: string, ttl: number, ip: string): RR {
  return { name: trimDot(name), type: 'A', class: 'IN', ttl, data: ip };
}
export function rrAAAA(name: string, ttl: number, ip: string): RR {
  return { name: trimDot(name), type: 'AAAA', class: 'IN', ttl, data: ip };
}
export function rrName(type: 'CNAME' | 'PTR' | 'NS', name: string, ttl: number, target: string): RR {
  return { name: trimDot(name), type, class: 'IN', ttl, data: trimDot(target) };
}
export function rrSRV(name: string, ttl: number, priority: number, weight: number, port: number, target: string): RR {
  return { name: trimDot(name), type: 'SRV', class: 'IN', ttl, data: { priority, weight, port, target: trimDot(target) } };
}
export function rrTXT(name: string, ttl: number, text: string): RR {
  return { name: trimDot(name), type: 'TXT', class: 'IN', ttl, data: [text] };
}
export function rrSOA(
  name: string,
  ttl: number,
  soa: { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number },
): RR {
  return { name: trimDot(name), type: 'SOA', class: 'IN', ttl, data: { ...soa, mname: trimDot(soa.mname), rname: trimDot(soa.rname) } };
}

/** A "canonical" comparable form of a record, for tests and dedup. */
export function rrKey(r: RR): string {
  return `${r.name.toLowerCase()}|${r.type}|${JSON.stringify(r.data, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v))}`;
}

/**
 * The set header flags in miekg/dig order (qr aa tc rd ra z ad cd). dig never prints z;
 * CoreDNS's log does.
 */
export function flagNames(m: Msg, opts: { z?: boolean } = {}): string[] {
  const f: string[] = [];
  if (m.qr) f.push('qr');
  if (m.aa) f.push('aa');
  if (m.tc) f.push('tc');
  if (m.rd) f.push('rd');
  if (m.ra) f.push('ra');
  if (opts.z && m.z) f.push('z');
  if (m.ad) f.push('ad');
  if (m.cd) f.push('cd');
  return f;
}
