import type { PacketCtx, SetLookup, SetRef } from '../module.js';
import { IpSet, IpsetError, SET_TYPES, type Dim, type SetType } from './set.js';
import { IPPROTO_ICMP } from '../packet.js';

const S = 1_000_000_000;
export const IPSET_VERSION = 'v7.17';

/**
 * The ipsets of one netns, with the commands of `ipset` (create/add/del/test/flush/destroy/
 * swap/list/save/restore). Rules hold a stable ref per name, so `swap` is seen by them at once.
 */
export class IpsetRegistry implements SetLookup {
  private sets = new Map<string, IpSet>();
  private readonly refs = new Map<string, SetRef>();
  /** How many rules refer to a set (the kernel's reference count); set by the owner. */
  referencesOf: (name: string) => number = () => 0;
  constructor(
    private readonly now: () => number,
    private readonly random: () => number,
  ) {}

  get(name: string): IpSet | undefined {
    return this.sets.get(name);
  }

  names(): string[] {
    return [...this.sets.keys()];
  }

  ref(name: string): SetRef | undefined {
    if (!this.sets.has(name)) return undefined;
    let r = this.refs.get(name);
    if (!r) {
      const reg = this;
      r = {
        name,
        get dimension() {
          return reg.sets.get(name)?.dimension ?? 0;
        },
        test(c: PacketCtx, dirs: readonly boolean[]): boolean {
          const set = reg.sets.get(name);
          if (!set) return false;
          const k = packetKey(set, c, dirs);
          return k !== null ? set.hasKey(k, reg.now()) : set.has(packetDims(set, c, dirs), reg.now());
        },
      };
      this.refs.set(name, r);
    }
    return r;
  }

  create(name: string, type: string, args: readonly string[] = []): void {
    if (this.sets.has(name)) throw new IpsetError('Set cannot be created: set with the same name already exists');
    if (!(type in SET_TYPES)) throw new IpsetError(`Syntax error: typename '${type}' is unknown`);
    if (name.length > 31) throw new IpsetError('Syntax error: setname is longer than 31 characters');
    const opts: IpSet['opts'] = { hashsize: 1024, maxelem: 65536, comment: false, initval: this.random() >>> 0 };
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const v = args[i + 1];
      const num = (): number => {
        if (v === undefined || !/^[0-9]+$/.test(v)) throw new IpsetError(`Syntax error: '${a}' requires a number`);
        i++;
        return Number(v);
      };
      if (a === 'family') {
        if (v !== 'inet') throw new IpsetError(`Syntax error: family '${v}' is not supported by the model`);
        i++;
      } else if (a === 'hashsize') opts.hashsize = num();
      else if (a === 'maxelem') opts.maxelem = num();
      else if (a === 'timeout') opts.timeout = num();
      else if (a === 'comment') opts.comment = true;
      else if (a === 'bucketsize') num();
      else if (a === 'initval') {
        opts.initval = Number(v);
        i++;
      } else if (a === 'range' && type === 'bitmap:port') {
        const m = /^([0-9]+)-([0-9]+)$/.exec(v ?? '');
        if (!m) throw new IpsetError(`Syntax error: cannot parse range '${v}'`);
        opts.range = [Number(m[1]), Number(m[2])];
        i++;
      } else throw new IpsetError(`Syntax error: Unknown argument: '${a}'`);
    }
    if (type === 'bitmap:port' && !opts.range) throw new IpsetError('Syntax error: Argument `range\' is required');
    this.sets.set(name, new IpSet(name, type as SetType, opts));
  }

  private need(name: string): IpSet {
    const s = this.sets.get(name);
    if (!s) throw new IpsetError(`The set with the given name does not exist`);
    return s;
  }

  add(name: string, element: string, extra: readonly string[] = [], exist = false): void {
    const s = this.need(name);
    const dims = s.parseElement(element);
    const key = IpSet.keyOf(dims);
    let comment: string | undefined;
    let timeout = s.opts.timeout;
    for (let i = 0; i < extra.length; i++) {
      if (extra[i] === 'comment' && s.opts.comment) comment = extra[++i];
      else if (extra[i] === 'timeout' && s.opts.timeout !== undefined) timeout = Number(extra[++i]);
      else throw new IpsetError(`Syntax error: Unknown argument: '${extra[i]}'`);
    }
    if (s.members.has(key) && !exist) throw new IpsetError("Element cannot be added to the set: it's already added");
    if (!s.members.has(key) && s.members.size >= s.opts.maxelem) throw new IpsetError('Hash is full, cannot add more elements');
    const m: { dims: Dim[]; key: string; comment?: string; expires?: number } = { dims, key };
    if (comment !== undefined) m.comment = comment;
    if (timeout !== undefined && timeout > 0) m.expires = this.now() + timeout * S;
    s.members.set(key, m);
  }

  del(name: string, element: string, exist = false): void {
    const s = this.need(name);
    const key = IpSet.keyOf(s.parseElement(element));
    if (!s.members.delete(key) && !exist) throw new IpsetError("Element cannot be deleted from the set: it's not added");
  }

  test(name: string, element: string): boolean {
    const s = this.need(name);
    return s.has(s.parseElement(element), this.now());
  }

  flush(name?: string): void {
    for (const s of name === undefined ? this.sets.values() : [this.need(name)]) s.members.clear();
  }

  destroy(name?: string): void {
    const victims = name === undefined ? [...this.sets.values()] : [this.need(name)];
    for (const s of victims) if (this.referencesOf(s.name) > 0) throw new IpsetError('Set cannot be destroyed: it is in use by a kernel component');
    for (const s of victims) {
      this.sets.delete(s.name);
      this.refs.delete(s.name);
    }
  }

  /** `ipset swap A B`: the names trade contents; rules referring to A now see B's members. */
  swap(a: string, b: string): void {
    const sa = this.need(a);
    const sb = this.need(b);
    if (sa.type !== sb.type) throw new IpsetError('The sets cannot be swapped: their type does not match');
    const na = new IpSet(a, sb.type, sb.opts);
    const nb = new IpSet(b, sa.type, sa.opts);
    for (const [k, m] of sb.members) na.members.set(k, m);
    for (const [k, m] of sa.members) nb.members.set(k, m);
    na.references = sa.references;
    nb.references = sb.references;
    this.sets.set(a, na);
    this.sets.set(b, nb);
  }

  /** A deep copy for an atomic `ipset restore`. */
  snapshot(): Map<string, IpSet> {
    const m = new Map<string, IpSet>();
    for (const [n, s] of this.sets) {
      const c = new IpSet(n, s.type, { ...s.opts });
      for (const [k, e] of s.members) c.members.set(k, { ...e });
      c.references = s.references;
      m.set(n, c);
    }
    return m;
  }

  rollback(snap: Map<string, IpSet>): void {
    this.sets = snap;
  }
}

function ipPart(c: PacketCtx, dirs: readonly boolean[], i: number): string {
  return `${(dirs[i] ?? dirs[0]) ? c.ip.src : c.ip.dst}/32`;
}
function portPart(c: PacketCtx, dirs: readonly boolean[], i: number): string {
  if (c.ip.proto === IPPROTO_ICMP) return `1:${(c.icmpType << 8) | c.icmpCode}`;
  return `${c.ip.proto}:${(dirs[i] ?? true) ? c.sport : c.dport}`;
}

/**
 * IpSet.keyOf(packetDims(...)) for the exact-match set types, built without the Dim
 * objects (the per-packet path of ipvs mode's set matches); null for the net types.
 */
function packetKey(set: IpSet, c: PacketCtx, dirs: readonly boolean[]): string | null {
  switch (set.type) {
    case 'hash:ip':
      return ipPart(c, dirs, 0);
    case 'bitmap:port':
      return `0:${dirs[0] ? c.sport : c.dport}`;
    case 'hash:ip,port':
      return `${ipPart(c, dirs, 0)},${portPart(c, dirs, 1)}`;
    case 'hash:ip,port,ip':
      return `${ipPart(c, dirs, 0)},${portPart(c, dirs, 1)},${ipPart(c, dirs, 2)}`;
    default:
      return null;
  }
}

/** The packet's value in each dimension of the set, by the match's src/dst flags. */
function packetDims(set: IpSet, c: PacketCtx, dirs: readonly boolean[]): Dim[] {
  const ip = (i: number): Dim => ({ kind: 'ip', addr: dirs[i] ?? dirs[0] ? c.ip.src : c.ip.dst, len: 32 });
  const port = (i: number): Dim => {
    const src = dirs[i] ?? true;
    if (c.ip.proto === IPPROTO_ICMP) return { kind: 'port', proto: 1, port: (c.icmpType << 8) | c.icmpCode };
    return { kind: 'port', proto: c.ip.proto, port: src ? c.sport : c.dport };
  };
  switch (set.type) {
    case 'hash:ip':
    case 'hash:net':
      return [ip(0)];
    case 'bitmap:port':
      return [{ kind: 'port', proto: 0, port: (dirs[0] ? c.sport : c.dport) }];
    case 'hash:ip,port':
      return [ip(0), port(1)];
    case 'hash:ip,port,ip':
    case 'hash:ip,port,net':
      return [ip(0), port(1), ip(2)];
  }
}
