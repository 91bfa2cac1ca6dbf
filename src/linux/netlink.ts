/**
 * The netlink-shaped API that agents program a namespace with: what `ip link/addr/route/
 * neigh` and `bridge fdb` can say, as functions over option objects, plus `ip()` /
 * `bridge()` front ends that take the same words as the real commands (so a test can run
 * one command list against the kernel and the model). Each call is atomic: it validates
 * first and changes nothing when it throws.
 */
import { parseCidr, parseIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import { parseMac, type MacAddr } from '../wire/mac-address.js';
import { RT_TABLE_LOCAL, RT_TABLE_MAIN, type RouteScope, type RouteType } from './fib.js';
import { BridgeDevice } from './link/bridge.js';
import type { NetDevice } from './link/device.js';
import { DummyDevice } from './link/dummy.js';
import { NicDevice } from './link/nic.js';
import { VethDevice } from './link/veth.js';
import { VxlanDevice, type VxlanConfig } from './link/vxlan.js';
import { NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE, NUD_STALE } from './neigh.js';
import { NetlinkError, Netns, type LinuxEnv, type RouteSpec } from './netns.js';

export { NetlinkError, Netns };
export type { LinuxEnv, RouteSpec };

export function createNetns(env: LinuxEnv, node: string, name: string): Netns {
  return new Netns(env, node, name);
}

export interface LinkAddOptions {
  name: string;
  kind: 'veth' | 'bridge' | 'vxlan' | 'dummy' | 'nic';
  mtu?: number;
  address?: MacAddr;
  /** veth: the other end. */
  peer?: { name: string; netns?: Netns; address?: MacAddr; mtu?: number };
  vxlan?: Partial<Omit<VxlanConfig, 'lower'>> & { vni: number; dev?: string };
}

function checkName(ns: Netns, name: string): void {
  if (!/^[^\s/:]{1,15}$/.test(name)) throw new NetlinkError(`Error: argument "${name}" is wrong: "name" not a valid ifname`);
  if (ns.dev(name)) throw new NetlinkError('RTNETLINK answers: File exists');
}

export function linkAdd(ns: Netns, o: LinkAddOptions): NetDevice {
  checkName(ns, o.name);
  let dev: NetDevice;
  switch (o.kind) {
    case 'veth': {
      const peerNs = o.peer?.netns ?? ns;
      const peerName = o.peer?.name ?? `veth${ns.devicesInOrder().length}`;
      checkName(peerNs, peerName);
      if (peerNs === ns && peerName === o.name) throw new NetlinkError('RTNETLINK answers: File exists');
      // veth_newlink registers the peer first, in the peer's namespace.
      const peer = new VethDevice(peerNs, peerNs.allocIfindex(), peerName, o.peer?.address ?? peerNs.randomMac());
      const self = new VethDevice(ns, ns.allocIfindex(), o.name, o.address ?? ns.randomMac());
      peer.peer = self;
      self.peer = peer;
      if (o.peer?.mtu) peer.mtu = o.peer.mtu;
      peerNs.register(peer);
      // The creating namespace's notification for the new link names the peer's namespace,
      // giving it an id there now; the peer's side gives one when first asked (a dump).
      if (peerNs !== ns) ns.nsidOf(peerNs);
      dev = self;
      break;
    }
    case 'bridge':
      dev = new BridgeDevice(ns, ns.allocIfindex(), o.name, o.address ?? ns.randomMac());
      // br_dev_newlink with IFLA_ADDRESS: br_stp_change_bridge_id.
      if (o.address) (dev as BridgeDevice).setMac(o.address);
      break;
    case 'dummy':
      dev = new DummyDevice(ns, ns.allocIfindex(), o.name, o.address ?? ns.randomMac());
      break;
    case 'nic':
      dev = new NicDevice(ns, ns.allocIfindex(), o.name, o.address ?? ns.randomMac());
      break;
    case 'vxlan': {
      const v = o.vxlan;
      if (!v || !(v.vni >= 0 && v.vni < 1 << 24)) throw new NetlinkError('Error: argument "id" is wrong: invalid id');
      const lower = v.dev !== undefined ? ns.mustDev(v.dev) : null;
      const cfg: VxlanConfig = {
        vni: v.vni, local: v.local ?? (0 as Ipv4Addr), lower, dstport: v.dstport || 8472, learning: v.learning ?? true,
        ttl: v.ttl ?? 0, udpcsum: v.udpcsum ?? true, srcPortMin: v.srcPortMin ?? ns.sysctl_.localPortLow,
        srcPortMax: v.srcPortMax ?? ns.sysctl_.localPortHigh, ageing: v.ageing ?? 300,
      };
      const x = new VxlanDevice(ns, ns.allocIfindex(), o.name, o.address ?? ns.randomMac(), cfg);
      ns.vxlans.push(x);
      dev = x;
      break;
    }
    default:
      throw new NetlinkError(`Error: Unknown device type "${String(o.kind)}".`);
  }
  if (o.mtu) {
    dev.mtu = o.mtu;
    if (dev instanceof BridgeDevice) dev.mtuSetByUser = true;
  }
  ns.register(dev);
  return dev;
}

export interface LinkSetOptions {
  up?: boolean;
  mtu?: number;
  address?: MacAddr;
  /** A bridge name, or null for `nomaster`. */
  master?: string | null;
  netns?: Netns;
  name?: string;
  hairpin?: boolean;
  learning?: boolean;
  /** Bridge option nf_call_iptables. */
  nfCallIptables?: boolean;
}

export function linkSet(ns: Netns, name: string, o: LinkSetOptions): void {
  const dev = ns.mustDev(name);
  // Validate everything before changing anything.
  let master: BridgeDevice | null | undefined;
  if (o.master !== undefined && o.master !== null) {
    const m = ns.mustDev(o.master);
    if (!(m instanceof BridgeDevice)) throw new NetlinkError(`Error: Device does not allow enslaving to a bridge.`);
    if (m === dev) throw new NetlinkError('Error: Can not enslave a bridge to itself.');
    master = m;
  } else if (o.master === null) master = null;
  if ((o.hairpin !== undefined || o.learning !== undefined) && !dev.brport) throw new NetlinkError('Error: Device is not a bridge port.');
  if (o.nfCallIptables !== undefined && !(dev instanceof BridgeDevice)) throw new NetlinkError('Error: Device is not a bridge.');
  if (o.mtu !== undefined && !(o.mtu >= 68 && o.mtu <= 65535)) throw new NetlinkError(`Error: mtu less than device minimum.`);
  if (o.name !== undefined) checkName(ns, o.name);
  if (o.netns) checkName(o.netns, o.name ?? dev.name);

  if (o.name !== undefined) ns.rename(dev, o.name);
  if (o.mtu !== undefined) {
    dev.mtu = o.mtu;
    if (dev instanceof BridgeDevice) dev.mtuSetByUser = true;
    // NETDEV_CHANGEMTU on a port re-adjusts its bridge.
    dev.master?.mtuAutoAdjust();
  }
  if (o.address !== undefined) {
    if (dev instanceof BridgeDevice) dev.setMac(o.address);
    else {
      const br = dev.master;
      if (br) br.fdb.delete(dev.mac, (f) => f.isLocal && f.port === dev);
      dev.mac = o.address;
      dev.macSet = true;
      if (br) {
        br.fdb.addLocal(dev.mac, dev, ns.clock.now);
        br.recalcMac();
      }
    }
  }
  if (master !== undefined) {
    if (dev.master) dev.master.delPort(dev);
    if (master) master.addPort(dev);
  }
  if (o.hairpin !== undefined) dev.brport!.hairpin = o.hairpin;
  if (o.learning !== undefined) dev.brport!.learning = o.learning;
  if (o.nfCallIptables !== undefined) (dev as BridgeDevice).nfCallIptables = o.nfCallIptables;
  if (o.netns && o.netns !== ns) {
    // dev_change_net_namespace: closed, addresses and routes dropped, index kept if free.
    ns.linkDown(dev);
    if (dev.master) dev.master.delPort(dev);
    for (const a of [...dev.inAddrs]) ns.addrDel(dev.name, a.addr, a.len);
    for (const n of [...dev.neighs.values()]) ns.neigh.remove(n);
    ns.unregister(dev);
    const target = o.netns;
    dev.ifindex = target.adoptIndex(dev.ifindex);
    dev.netns = target;
    dev.conf = target.sysctl_.newDevConf();
    target.register(dev);
    // The move's notifications on both sides name the other side: both give ids now.
    if (dev instanceof VethDevice && dev.peer.netns !== target) {
      target.nsidOf(dev.peer.netns);
      dev.peer.netns.nsidOf(target);
    }
    if (dev instanceof VxlanDevice) target.vxlans.push(dev);
    return;
  }
  if (o.up === true) dev.netns.linkUp(dev);
  if (o.up === false) dev.netns.linkDown(dev);
}

export function linkDel(ns: Netns, name: string): void {
  const dev = ns.mustDev(name);
  const del = (d: NetDevice): void => {
    d.netns.linkDown(d);
    if (d.master) d.master.delPort(d);
    if (d instanceof BridgeDevice) for (const p of [...d.ports]) d.delPort(p.dev);
    for (const a of [...d.inAddrs]) d.netns.addrDel(d.name, a.addr, a.len);
    d.netns.unregister(d);
  };
  del(dev);
  if (dev instanceof VethDevice) del(dev.peer);
}

export interface NeighSpec {
  dst: Ipv4Addr;
  dev: string;
  lladdr?: MacAddr;
  state?: 'permanent' | 'reachable' | 'stale' | 'noarp';
}

const NUD_OF = { permanent: NUD_PERMANENT, reachable: NUD_REACHABLE, stale: NUD_STALE, noarp: NUD_NOARP } as const;

/** `ip neigh add|replace`. */
export function neighSet(ns: Netns, s: NeighSpec, replace: boolean): void {
  const dev = ns.mustDev(s.dev);
  const existing = ns.neigh.lookup(dev, s.dst);
  if (existing && !replace) throw new NetlinkError('RTNETLINK answers: File exists');
  const n = existing ?? ns.neigh.create(dev, s.dst);
  ns.neigh.update(n, s.lladdr ?? null, NUD_OF[s.state ?? 'permanent'], true, true);
}

export function neighDel(ns: Netns, dst: Ipv4Addr, devName: string): void {
  const dev = ns.mustDev(devName);
  const n = ns.neigh.lookup(dev, dst);
  if (!n) throw new NetlinkError('RTNETLINK answers: No such file or directory');
  ns.neigh.remove(n);
}

export interface FdbSpec {
  mac: MacAddr;
  dev: string;
  dst?: Ipv4Addr;
  /** `self` (the device's own table: vxlan) or `master` (the bridge the port belongs to). */
  target?: 'self' | 'master';
  state?: 'permanent' | 'static';
}

/** `bridge fdb add|append|replace|del`. */
export function fdb(ns: Netns, op: 'add' | 'append' | 'replace' | 'del', s: FdbSpec): void {
  const dev = ns.mustDev(s.dev);
  if (dev instanceof VxlanDevice && s.target !== 'master') {
    if (op === 'del') return dev.fdbDel(s.mac, s.dst);
    if (s.dst === undefined) throw new NetlinkError('RTNETLINK answers: Invalid argument');
    const state = s.state ?? 'permanent';
    if (op === 'append') dev.fdbAppend(s.mac, s.dst, state);
    else if (op === 'replace') dev.fdbReplace(s.mac, s.dst, state);
    else {
      if (dev.fdbLookup(s.mac)) throw new NetlinkError('RTNETLINK answers: File exists');
      dev.fdbAppend(s.mac, s.dst, state);
    }
    return;
  }
  const br = dev instanceof BridgeDevice ? dev : dev.master;
  if (!br) throw new NetlinkError('RTNETLINK answers: Operation not supported');
  if (op === 'del') {
    if (!br.fdb.delete(s.mac)) throw new NetlinkError('RTNETLINK answers: No such file or directory');
    return;
  }
  if (op === 'add' && br.fdb.get(s.mac, ns.clock.now)) throw new NetlinkError('RTNETLINK answers: File exists');
  br.fdb.addStatic(s.mac, dev, ns.clock.now, (s.state ?? 'permanent') === 'permanent');
}

// ---- command front ends -------------------------------------------------------------

/** Resolves `netns NAME` words. */
export type NetnsResolver = (name: string) => Netns | undefined;

function words(cmd: string | readonly string[]): string[] {
  return typeof cmd === 'string' ? cmd.trim().split(/\s+/).filter(Boolean) : [...cmd];
}

class Args {
  i = 0;
  constructor(readonly w: string[]) {}
  more(): boolean {
    return this.i < this.w.length;
  }
  peek(): string | undefined {
    return this.w[this.i];
  }
  next(what: string): string {
    const v = this.w[this.i++];
    if (v === undefined) throw new NetlinkError(`Command line is not complete. Try option "help"`);
    void what;
    return v;
  }
}

function num(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new NetlinkError(`Error: argument "${s}" is wrong: "${what}" value is invalid`);
  return Number(s);
}

function onOff(s: string): boolean {
  if (s !== 'on' && s !== 'off') throw new NetlinkError(`Error: argument "${s}" is wrong: expected "on" or "off"`);
  return s === 'on';
}

const TABLES: Record<string, number> = { main: RT_TABLE_MAIN, local: RT_TABLE_LOCAL, default: 253 };

/** `ip OBJECT COMMAND ...` against `ns` (the words after `ip` / `ip -n NS`). */
export function ip(ns: Netns, cmd: string | readonly string[], resolve: NetnsResolver = () => undefined): void {
  const a = new Args(words(cmd));
  const obj = a.next('object');
  const op = a.next('command');
  if (obj === 'link' || obj === 'l') {
    if (op === 'add') {
      let name = '';
      const o: Partial<LinkAddOptions> = {};
      let kind = '';
      const peer: { name: string; netns?: Netns; address?: MacAddr; mtu?: number } = { name: '' };
      const vx: NonNullable<LinkAddOptions['vxlan']> = { vni: -1 };
      while (a.more()) {
        const w = a.next('arg');
        if (w === 'name') name = a.next('name');
        else if (w === 'address') o.address = parseMac(a.next('address'));
        else if (w === 'mtu') o.mtu = num(a.next('mtu'), 'mtu');
        else if (w === 'type') {
          kind = a.next('type');
          if (kind === 'veth') {
            while (a.more()) {
              const x = a.next('peer');
              if (x === 'peer') continue;
              if (x === 'name') peer.name = a.next('name');
              else if (x === 'netns') {
                const n = a.next('netns');
                const t = resolve(n);
                if (!t) throw new NetlinkError(`Cannot open network namespace "${n}": No such file or directory`);
                peer.netns = t;
              } else if (x === 'address') peer.address = parseMac(a.next('address'));
              else if (x === 'mtu') peer.mtu = num(a.next('mtu'), 'mtu');
              else throw new NetlinkError(`Error: argument "${x}" is wrong`);
            }
          } else if (kind === 'vxlan') {
            vx.learning = true;
            while (a.more()) {
              const x = a.next('vxlan');
              if (x === 'id' || x === 'vni') vx.vni = num(a.next('id'), 'id');
              else if (x === 'local') vx.local = parseIpv4(a.next('local'));
              else if (x === 'dev') vx.dev = a.next('dev');
              else if (x === 'dstport') vx.dstport = num(a.next('dstport'), 'dstport');
              else if (x === 'nolearning') vx.learning = false;
              else if (x === 'learning') vx.learning = true;
              else if (x === 'ttl') {
                const t = a.next('ttl');
                vx.ttl = t === 'auto' || t === 'inherit' ? 0 : num(t, 'ttl');
              } else if (x === 'noudpcsum') vx.udpcsum = false;
              else if (x === 'udpcsum') vx.udpcsum = true;
              else throw new NetlinkError(`vxlan: unknown command "${x}"?`);
            }
          } else if (kind === 'bridge') {
            // bridge_parse_opt: what follows the type is the bridge's own options.
            if (a.more()) throw new NetlinkError(`bridge: unknown command "${a.next('bridge')}"?`);
          } else if (kind !== 'dummy') throw new NetlinkError(`Error: Unknown device type.`);
        } else if (!name) name = w;
        else throw new NetlinkError(`Error: argument "${w}" is wrong`);
      }
      if (!name) throw new NetlinkError('Not enough information: "dev" argument is required.');
      if (!kind) throw new NetlinkError('Not enough information: "type" argument is required.');
      const opts: LinkAddOptions = { name, kind: kind as LinkAddOptions['kind'] };
      if (o.address !== undefined) opts.address = o.address;
      if (o.mtu !== undefined) opts.mtu = o.mtu;
      if (kind === 'veth') opts.peer = peer;
      if (kind === 'vxlan') opts.vxlan = vx;
      linkAdd(ns, opts);
      return;
    }
    if (op === 'set') {
      if (a.peek() === 'dev') a.next('dev');
      const name = a.next('dev');
      const o: LinkSetOptions = {};
      while (a.more()) {
        const w = a.next('arg');
        if (w === 'up') o.up = true;
        else if (w === 'down') o.up = false;
        else if (w === 'mtu') o.mtu = num(a.next('mtu'), 'mtu');
        else if (w === 'address') o.address = parseMac(a.next('address'));
        else if (w === 'master') o.master = a.next('master');
        else if (w === 'nomaster') o.master = null;
        else if (w === 'name') o.name = a.next('name');
        else if (w === 'netns') {
          const n = a.next('netns');
          const t = resolve(n);
          if (!t) throw new NetlinkError(`Cannot open network namespace "${n}": No such file or directory`);
          o.netns = t;
        } else if (w === 'type') {
          const t = a.next('type');
          while (a.more()) {
            const x = a.next('opt');
            if (t === 'bridge_slave' && x === 'hairpin') o.hairpin = onOff(a.next('hairpin'));
            else if (t === 'bridge_slave' && x === 'learning') o.learning = onOff(a.next('learning'));
            else if (t === 'bridge' && x === 'nf_call_iptables') o.nfCallIptables = a.next('v') === '1';
            else throw new NetlinkError(`Error: argument "${x}" is wrong`);
          }
        } else throw new NetlinkError(`Error: either "dev" is duplicate, or "${w}" is a garbage.`);
      }
      linkSet(ns, name, o);
      return;
    }
    if (op === 'del' || op === 'delete') {
      if (a.peek() === 'dev') a.next('dev');
      linkDel(ns, a.next('dev'));
      return;
    }
  }
  if (obj === 'addr' || obj === 'address' || obj === 'a') {
    const c = parseCidr(a.next('prefix'));
    let dev = '';
    let brd: Ipv4Addr | 'auto' | undefined;
    let scope: RouteScope | undefined;
    while (a.more()) {
      const w = a.next('arg');
      if (w === 'dev') dev = a.next('dev');
      else if (w === 'brd' || w === 'broadcast') {
        const v = a.next('brd');
        brd = v === '+' ? 'auto' : parseIpv4(v);
      } else if (w === 'scope') scope = scopeOf(a.next('scope'));
      else throw new NetlinkError(`Error: either "local" is duplicate, or "${w}" is a garbage.`);
    }
    if (op === 'add') {
      const opts: { broadcast?: Ipv4Addr | 'auto'; scope?: RouteScope } = {};
      if (brd !== undefined) opts.broadcast = brd;
      if (scope !== undefined) opts.scope = scope;
      ns.addrAdd(dev, c.addr, c.len, opts);
    } else if (op === 'del') ns.addrDel(dev, c.addr, c.len);
    else throw new NetlinkError(`Command "${op}" is unknown, try "ip address help".`);
    return;
  }
  if (obj === 'route' || obj === 'r') {
    const spec = parseRoute(a);
    if (op === 'add') ns.routeAdd(spec);
    else if (op === 'replace') ns.routeReplace(spec);
    else if (op === 'del' || op === 'delete') ns.routeDel(spec);
    else throw new NetlinkError(`Command "${op}" is unknown, try "ip route help".`);
    return;
  }
  if (obj === 'neigh' || obj === 'neighbor' || obj === 'n') {
    const dst = parseIpv4(a.next('dst'));
    let dev = '';
    let lladdr: MacAddr | undefined;
    let state: NeighSpec['state'] = 'permanent';
    while (a.more()) {
      const w = a.next('arg');
      if (w === 'dev') dev = a.next('dev');
      else if (w === 'lladdr') lladdr = parseMac(a.next('lladdr'));
      else if (w === 'nud') state = a.next('nud') as NeighSpec['state'];
      else throw new NetlinkError(`Error: either "to" is duplicate, or "${w}" is a garbage.`);
    }
    if (op === 'del' || op === 'delete') return neighDel(ns, dst, dev);
    const s: NeighSpec = { dst, dev };
    if (lladdr !== undefined) s.lladdr = lladdr;
    if (state !== undefined) s.state = state;
    neighSet(ns, s, op === 'replace');
    return;
  }
  throw new NetlinkError(`Object "${obj}" is unknown, try "ip help".`);
}

/** The words after `ip route add` as a route, or the NetlinkError iproute2 would print. */
export function parseRouteArgs(cmd: string | readonly string[]): RouteSpec {
  return parseRoute(new Args(words(cmd)));
}

function scopeOf(s: string): RouteScope {
  if (s === 'global' || s === 'universe') return 'global';
  if (s === 'link' || s === 'host') return s;
  throw new NetlinkError(`Error: argument "${s}" is wrong: invalid scope value.`);
}

function parseRoute(a: Args): RouteSpec {
  let type: RouteType | undefined;
  const first = a.next('prefix');
  let dstWord = first;
  if (['local', 'broadcast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'unicast'].includes(first)) {
    type = first as RouteType;
    dstWord = a.next('prefix');
  }
  const c = dstWord === 'default' ? { addr: 0 as Ipv4Addr, len: 0 } : parseCidr(dstWord);
  const spec: RouteSpec = { dst: c.addr, len: c.len };
  if (type) spec.type = type;
  while (a.more()) {
    const w = a.next('arg');
    if (w === 'via') spec.via = parseIpv4(a.next('via'));
    else if (w === 'dev') spec.dev = a.next('dev');
    else if (w === 'proto') spec.proto = a.next('proto');
    else if (w === 'scope') spec.scope = scopeOf(a.next('scope'));
    else if (w === 'src') spec.src = parseIpv4(a.next('src'));
    else if (w === 'metric' || w === 'priority' || w === 'preference') spec.metric = num(a.next('metric'), 'metric');
    else if (w === 'table') {
      const t = a.next('table');
      spec.table = TABLES[t] ?? num(t, 'table');
    } else if (w === 'onlink') spec.onlink = true;
    else if (w === 'mtu') spec.mtu = num(a.next('mtu'), 'mtu');
    else if (w === 'tos') spec.tos = Number(a.next('tos'));
    else throw new NetlinkError(`Error: either "to" is duplicate, or "${w}" is a garbage.`);
  }
  return spec;
}

/** `bridge fdb OP MAC dev DEV [dst IP] [self|master] [permanent|static]`. */
export function bridge(ns: Netns, cmd: string | readonly string[]): void {
  const a = new Args(words(cmd));
  const obj = a.next('object');
  if (obj !== 'fdb') throw new NetlinkError(`Object "${obj}" is unknown, try "bridge help".`);
  const op = a.next('command');
  if (op !== 'add' && op !== 'append' && op !== 'replace' && op !== 'del') throw new NetlinkError(`Command "${op}" is unknown, try "bridge fdb help".`);
  const mac = parseMac(a.next('mac'));
  const s: FdbSpec = { mac, dev: '' };
  while (a.more()) {
    const w = a.next('arg');
    if (w === 'dev') s.dev = a.next('dev');
    else if (w === 'dst') s.dst = parseIpv4(a.next('dst'));
    else if (w === 'self' || w === 'master') s.target = w;
    else if (w === 'permanent' || w === 'static') s.state = w;
    else throw new NetlinkError(`Error: argument "${w}" is wrong`);
  }
  fdb(ns, op, s);
}
