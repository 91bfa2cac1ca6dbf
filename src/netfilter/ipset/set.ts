import { formatIpv4, parseIpv4, prefixMask } from '../../wire/ipv4-address.js';

/** The set types the model knows, with the revision ipset 7.17 on Linux 6.18 reports. */
export const SET_TYPES = {
  'hash:ip': 6,
  'hash:ip,port': 7,
  'hash:ip,port,ip': 6,
  'hash:ip,port,net': 8,
  'hash:net': 7,
  'bitmap:port': 3,
} as const;
export type SetType = keyof typeof SET_TYPES;

export class IpsetError extends Error {
  override readonly name = 'IpsetError';
}

/** One dimension of an element: an address (with prefix for nets), or proto + port. */
export type Dim = { kind: 'ip'; addr: number; len: number } | { kind: 'port'; proto: number; port: number };

export interface Member {
  readonly dims: readonly Dim[];
  readonly key: string;
  comment?: string;
  /** Absolute expiry (ns) when the set has a timeout. */
  expires?: number;
}

const PROTOS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, udplite: 136, icmp: 1 };
const PROTO_NAME: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite', 1: 'icmp' };

function parseAddr(t: string, allowNet: boolean): { addr: number; len: number } {
  const slash = t.indexOf('/');
  let addr: number;
  try {
    addr = parseIpv4(slash < 0 ? t : t.slice(0, slash));
  } catch {
    throw new IpsetError(`Syntax error: cannot parse ${t}: resolving to IPv4 address failed`);
  }
  if (slash < 0) return { addr, len: 32 };
  const l = t.slice(slash + 1);
  if (!allowNet || !/^[0-9]+$/.test(l) || Number(l) > 32 || Number(l) === 0) throw new IpsetError(`Syntax error: cannot parse ${t}: resolving to IPv4 address failed`);
  const len = Number(l);
  return { addr: (addr & prefixMask(len)) >>> 0, len };
}

function parsePortDim(t: string): { proto: number; port: number } {
  const c = t.indexOf(':');
  const proto = c < 0 ? 6 : PROTOS[t.slice(0, c)];
  const ps = c < 0 ? t : t.slice(c + 1);
  if (proto === undefined) throw new IpsetError(`Syntax error: cannot parse '${t.slice(0, c)}' as a protocol`);
  if (!/^[0-9]+$/.test(ps) || Number(ps) > 65535) throw new IpsetError(`Syntax error: cannot parse '${ps}' as a ${PROTO_NAME[proto] ?? ''} port`);
  return { proto, port: Number(ps) };
}

function dimText(d: Dim): string {
  if (d.kind === 'ip') return d.len === 32 ? formatIpv4(d.addr) : `${formatIpv4(d.addr)}/${d.len}`;
  return `${PROTO_NAME[d.proto] ?? d.proto}:${d.port}`;
}

/**
 * One ipset. Members are kept in insertion order (the kernel lists in hash-bucket order,
 * which depends on its random initval).
 */
export class IpSet {
  readonly members = new Map<string, Member>();
  references = 0;
  constructor(
    readonly name: string,
    readonly type: SetType,
    readonly opts: { hashsize: number; maxelem: number; timeout?: number; comment: boolean; range?: [number, number]; initval: number },
  ) {}

  get dimension(): number {
    return this.type === 'hash:ip' || this.type === 'hash:net' || this.type === 'bitmap:port' ? 1 : this.type === 'hash:ip,port' ? 2 : 3;
  }

  /** Parses an element as `ipset add` takes it for this type. */
  parseElement(text: string): Dim[] {
    const parts = text.split(',');
    const want = this.dimension;
    if (parts.length !== want) throw new IpsetError(`Syntax error: cannot parse ${text}: resolving to IPv4 address failed`);
    switch (this.type) {
      case 'hash:ip':
        return [{ kind: 'ip', ...parseAddr(parts[0]!, false) }];
      case 'hash:net':
        return [{ kind: 'ip', ...parseAddr(parts[0]!, true) }];
      case 'bitmap:port': {
        const p = parsePortDim(parts[0]!);
        const [lo, hi] = this.opts.range ?? [0, 65535];
        if (p.port < lo || p.port > hi) throw new IpsetError('Element is out of the range of the set');
        return [{ kind: 'port', proto: 0, port: p.port }];
      }
      case 'hash:ip,port':
        return [{ kind: 'ip', ...parseAddr(parts[0]!, false) }, { kind: 'port', ...parsePortDim(parts[1]!) }];
      case 'hash:ip,port,ip':
        return [{ kind: 'ip', ...parseAddr(parts[0]!, false) }, { kind: 'port', ...parsePortDim(parts[1]!) }, { kind: 'ip', ...parseAddr(parts[2]!, false) }];
      case 'hash:ip,port,net':
        return [{ kind: 'ip', ...parseAddr(parts[0]!, false) }, { kind: 'port', ...parsePortDim(parts[1]!) }, { kind: 'ip', ...parseAddr(parts[2]!, true) }];
    }
  }

  static keyOf(dims: readonly Dim[]): string {
    return dims.map((d) => (d.kind === 'ip' ? `${d.addr}/${d.len}` : `${d.proto}:${d.port}`)).join(',');
  }

  static textOf(dims: readonly Dim[]): string {
    return dims.map((d) => (d.kind === 'port' && d.proto === 0 ? `${d.port}` : dimText(d))).join(',');
  }

  /** Whether the element with this keyOf() key is in the set (exact types only). */
  hasKey(key: string, now: number): boolean {
    const m = this.members.get(key);
    return m !== undefined && (m.expires === undefined || m.expires > now);
  }

  /** Exact-element test for `ipset test` and the packet path (nets: longest prefix containing). */
  has(values: readonly Dim[], now: number): boolean {
    if (this.type === 'hash:net' || this.type === 'hash:ip,port,net') {
      const last = values.length - 1;
      const v = values[last]!;
      if (v.kind !== 'ip') return false;
      for (const m of this.members.values()) {
        if (m.expires !== undefined && m.expires <= now) continue;
        let ok = true;
        for (let i = 0; i < last && ok; i++) ok = dimEq(m.dims[i]!, values[i]!);
        const md = m.dims[last]!;
        if (ok && md.kind === 'ip' && ((v.addr & prefixMask(md.len)) >>> 0) === md.addr && md.len <= v.len) return true;
      }
      return false;
    }
    const m = this.members.get(IpSet.keyOf(values));
    return m !== undefined && (m.expires === undefined || m.expires > now);
  }

  memoryEstimate(): number {
    // ip_set_hash: header plus per-element bucket slots; an estimate, not the kernel's figure.
    if (this.type === 'bitmap:port') return 8264;
    const elem = this.type === 'hash:ip' ? 16 : this.type === 'hash:net' ? 24 : 32;
    return 200 + this.members.size * elem;
  }
}

function dimEq(a: Dim, b: Dim): boolean {
  if (a.kind === 'ip' && b.kind === 'ip') return a.addr === b.addr && a.len === b.len;
  if (a.kind === 'port' && b.kind === 'port') return a.proto === b.proto && a.port === b.port;
  return false;
}
