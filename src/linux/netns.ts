/**
 * One Linux network namespace: its devices (with the kernel's per-namespace ifindex
 * counter), addresses, routing tables, neighbour table, sysctls, netfilter hook lists and
 * IP protocol handlers. The datapath lives in ipv4/, arp.ts and link/; this file holds the
 * state and the netlink-shaped operations on it (see netlink.ts for the command front end).
 */
import type { EventQueue } from '../sim/event-queue.js';
import type { FragQueue } from './ipv4/fragment.js';
import type { Random } from '../sim/random.js';
import type { TraceSink } from '../sim/trace.js';
import { cidrBroadcast, formatIpv4, prefixMask, type Ipv4Addr } from '../wire/ipv4-address.js';
import { MAC_BROADCAST, MAC_ZERO, randomMac, type MacAddr } from '../wire/mac-address.js';
import type { PacketBuffer } from '../wire/packet-buffer.js';
import type { NfHook, NfHookOps, NfNetns } from '../netfilter/hooks.js';
import { inAddrMatches, inAddrNetwork, type InAddr } from './addr.js';
import { FibTable, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN, SCOPE_NUM, type Route, type RouteScope, type RouteType } from './fib.js';
import type { IpLayer, NetProtocol, RouteError, RouteInfo, RouteOutputOptions } from './ip-layer.js';
import type { NetDevice } from './link/device.js';
import { NeighTable, type Neighbour } from './neigh.js';
import { Sysctl } from './sysctl.js';
import type { LinuxTraceEvent } from './trace.js';
import { HookTable } from './hooks.js';
import { linuxReceive } from './link/receive.js';
import { ipLocalOut, routeOutput } from './ipv4/output.js';
import { icmpSend } from './ipv4/icmp.js';
import { arpSend, arpSolicit } from './arp.js';
import { LoopbackDevice } from './link/loopback.js';
import type { VxlanDevice } from './link/vxlan.js';

/** What every namespace of a simulation shares: the clock, the random source, the trace. */
export interface LinuxEnv {
  readonly clock: EventQueue;
  readonly rng: Random;
  trace: TraceSink<LinuxTraceEvent> | null;
}

export { DELAY } from './timing.js';

export { NetlinkError } from './errors.js';
import { NetlinkError } from './errors.js';

export interface RouteSpec {
  type?: RouteType;
  dst: Ipv4Addr;
  len: number;
  via?: Ipv4Addr;
  dev?: string;
  table?: number;
  proto?: string;
  scope?: RouteScope;
  src?: Ipv4Addr;
  metric?: number;
  onlink?: boolean;
  tos?: number;
  mtu?: number;
}

/**
 * Per device: which address/prefix pairs it holds, how many primaries per subnet, how many
 * primaries in all, so that adding the ten thousands of ClusterIPs kube-proxy puts on
 * kube-ipvs0 does not rescan the list each time. Rebuilt from `inAddrs` after a delete.
 */
interface AddrIndex {
  readonly exact: Set<number>;
  readonly primaryNets: Map<number, number>;
  primaries: number;
}
const addrIndexes = new WeakMap<NetDevice, AddrIndex>();

function addrKey(addr: Ipv4Addr, len: number): number {
  return addr * 33 + len;
}

function addrIndexOf(dev: NetDevice): AddrIndex {
  let idx = addrIndexes.get(dev);
  if (idx === undefined) {
    idx = { exact: new Set(), primaryNets: new Map(), primaries: 0 };
    for (const a of dev.inAddrs) {
      idx.exact.add(addrKey(a.addr, a.len));
      if (a.secondary) continue;
      idx.primaries++;
      const net = addrKey(((a.addr & prefixMask(a.len)) >>> 0) as Ipv4Addr, a.len);
      idx.primaryNets.set(net, (idx.primaryNets.get(net) ?? 0) + 1);
    }
    addrIndexes.set(dev, idx);
  }
  return idx;
}

export class Netns implements IpLayer, NfNetns {
  readonly env: LinuxEnv;
  readonly node: string;
  readonly netns: string;
  readonly clock: EventQueue;
  readonly rng: Random;
  readonly sysctl_ = new Sysctl();
  readonly neigh: NeighTable;
  readonly tables = new Map<number, FibTable>();
  readonly local: FibTable;
  readonly main: FibTable;
  readonly hooks = new HookTable();
  readonly protocols: (NetProtocol | undefined)[] = new Array(256).fill(undefined);
  /** UDP encapsulation sockets (udp tunnel encap_rcv) by local port: vxlan. */
  readonly udpEncap = new Map<number, (packet: PacketBuffer, inDev: NetDevice) => boolean>();
  private readonly byIndex = new Map<number, NetDevice>();
  private readonly byName = new Map<string, NetDevice>();
  /** net->ifindex: the last index handed out (dev_index_reserve allocates cyclically after it). */
  private ifindexCounter = 0;
  private routeSeq = 0;
  /** IP ID generator state (ip_idents): per (daddr, proto) bucket, random start. */
  private readonly idents = new Map<number, number>();
  /** IPv4 reassembly queues (ipq) by (src, dst, id, proto). */
  readonly fragQueues = new Map<string, FragQueue>();
  /** inet_peer ICMP rate-limit buckets by destination (icmpv4_xrlim_allow). */
  readonly icmpPeers = new Map<Ipv4Addr, { tokens: number; last: number }>();
  /** br_netfilter: the packet whose PREROUTING already ran at bridge level (ip_sabotage_in). */
  brnfDone: PacketBuffer | null = null;
  /** ...and the bridge port it came in on (nf_bridge->physindev, seen by later hooks as physdev-in). */
  brnfPhysIn: string | null = null;
  /** VXLAN devices of this namespace, for encap_rcv demultiplexing by port and VNI. */
  readonly vxlans: VxlanDevice[] = [];
  readonly lo: LoopbackDevice;
  /** Set by capture(): called for every device that gets registered later. */
  onRegister: ((dev: NetDevice) => void) | null = null;

  constructor(env: LinuxEnv, node: string, netns: string) {
    this.env = env;
    this.node = node;
    this.netns = netns;
    this.mountName = netns;
    this.clock = env.clock;
    this.rng = env.rng.fork(`netns:${node}/${netns}`);
    this.neigh = new NeighTable(this);
    this.local = new FibTable(RT_TABLE_LOCAL);
    this.main = new FibTable(RT_TABLE_MAIN);
    this.tables.set(RT_TABLE_LOCAL, this.local);
    this.tables.set(RT_TABLE_MAIN, this.main);
    this.tables.set(RT_TABLE_DEFAULT, new FibTable(RT_TABLE_DEFAULT));
    this.sysctl_.devices = () => this.byIndex.values();
    // The loopback device is made with the namespace and always gets ifindex 1.
    this.lo = new LoopbackDevice(this, this.allocIfindex());
    this.register(this.lo);
  }

  get trace(): TraceSink<LinuxTraceEvent> | null {
    return this.env.trace;
  }

  /**
   * The namespace's name under /var/run/netns (`ip netns add NAME`, containerd's `cni-<uuid>`),
   * which iproute2 prints as `link-netns NAME` for a peer here; null for one with no such name
   * (a machine's own namespace, docker's containers): iproute2 prints `link-netnsid N` then.
   */
  mountName: string | null;

  /** net->netns_ids: the ids this namespace knows other namespaces by (peernet2id_alloc). */
  private readonly nsids = new Map<Netns, number>();

  /** peernet2id_alloc: `peer`'s id here, the lowest free one given on first need. */
  nsidOf(peer: Netns): number {
    let id = this.nsids.get(peer);
    if (id === undefined) {
      const used = new Set(this.nsids.values());
      id = 0;
      while (used.has(id)) id++;
      this.nsids.set(peer, id);
    }
    return id;
  }

  /** The namespace this one knows by `id`, if any. */
  peerByNsid(id: number): Netns | undefined {
    for (const [n, i] of this.nsids) if (i === id) return n;
    return undefined;
  }

  /**
   * While tracing: the trace number of the packet whose netfilter hooks run now, so that
   * the events netfilter and IPVS record (which see the packet, not the trace) name it.
   */
  hookPacket = 0;

  // ---- devices -------------------------------------------------------------------------

  /** dev_index_reserve: the next free index after the last one handed out. */
  allocIfindex(): number {
    for (;;) {
      this.ifindexCounter = this.ifindexCounter >= 0x7fffffff ? 1 : this.ifindexCounter + 1;
      if (!this.byIndex.has(this.ifindexCounter)) return this.ifindexCounter;
    }
  }

  /** eth_random_addr from this namespace's stream. */
  randomMac(): MacAddr {
    return randomMac(() => this.rng.byte());
  }

  register(dev: NetDevice): void {
    if (this.byName.has(dev.name)) throw new NetlinkError(`RTNETLINK answers: File exists`);
    this.byIndex.set(dev.ifindex, dev);
    this.byName.set(dev.name, dev);
    if (dev.linkType === 'ether' && dev.kind !== 'vxlan') dev.mcAdd(0x333300000001 as MacAddr);
    this.onRegister?.(dev);
  }

  unregister(dev: NetDevice): void {
    this.byIndex.delete(dev.ifindex);
    this.byName.delete(dev.name);
    const i = this.vxlans.indexOf(dev as VxlanDevice);
    if (i >= 0) this.vxlans.splice(i, 1);
  }

  /** dev_change_net_namespace keeps the index unless the target namespace has it taken. */
  adoptIndex(ifindex: number): number {
    if (!this.byIndex.has(ifindex)) return ifindex;
    return this.allocIfindex();
  }

  /** Renames keep the index; used by `ip link set X name Y` and netns moves. */
  rename(dev: NetDevice, name: string): void {
    if (this.byName.has(name)) throw new NetlinkError('RTNETLINK answers: File exists');
    this.byName.delete(dev.name);
    dev.name = name;
    this.byName.set(name, dev);
  }

  dev(name: string): NetDevice | undefined {
    return this.byName.get(name);
  }

  devByIndex(i: number): NetDevice | undefined {
    return this.byIndex.get(i);
  }

  mustDev(name: string): NetDevice {
    const d = this.byName.get(name);
    if (!d) throw new NetlinkError(`Cannot find device "${name}"`);
    return d;
  }

  devicesInOrder(): NetDevice[] {
    return [...this.byIndex.values()].sort((a, b) => a.ifindex - b.ifindex);
  }

  /** dev_open / dev_close side effects: addresses' routes appear and disappear. */
  linkUp(dev: NetDevice): void {
    if (dev.adminUp) return;
    dev.adminUp = true;
    dev.onUp();
    if (dev.linkType === 'loopback' && dev.inAddrs.length === 0) {
      // inetdev_event NETDEV_UP on loopback adds 127.0.0.1/8 scope host.
      this.addrAdd(dev.name, 0x7f000001 as Ipv4Addr, 8, { scope: 'host' });
      return;
    }
    for (const a of dev.inAddrs) this.addIfaddrRoutes(a);
    // inetdev_event NETDEV_UP with arp_notify: a gratuitous ARP request for each address.
    if ((this.sysctl_.all.arp_notify || dev.conf.arp_notify) && dev.linkType === 'ether' && !dev.noarp) {
      for (const a of dev.inAddrs) arpSend(this, dev, 1, MAC_BROADCAST, dev.mac, a.addr, MAC_ZERO, a.addr);
    }
  }

  linkDown(dev: NetDevice): void {
    if (!dev.adminUp) return;
    dev.adminUp = false;
    dev.onDown();
    // fib_disable_ip: every route through the device goes, except the local routes of its addresses.
    for (const t of this.tables.values()) t.removeWhere((r) => r.dev === dev && r.type !== 'local');
    // arp_ifdown -> neigh_ifdown: every entry on the device goes, permanent ones too.
    for (const n of [...dev.neighs.values()]) this.neigh.remove(n);
    // br_port_state_selection on a disabled port: its learned FDB entries go.
    dev.master?.fdb.flushDynamic(dev);
  }

  /** neigh_carrier_down: the device lost its carrier; only permanent neighbours stay. */
  carrierDown(dev: NetDevice): void {
    for (const n of [...dev.neighs.values()]) if (!(n.state & 0x80)) this.neigh.remove(n);
  }

  // ---- addresses -----------------------------------------------------------------------

  addrAdd(devName: string, addr: Ipv4Addr, len: number, opts: { broadcast?: Ipv4Addr | 'auto'; scope?: RouteScope } = {}): InAddr {
    const dev = this.mustDev(devName);
    if (len < 0 || len > 32) throw new NetlinkError(`Error: an inet prefix is expected rather than "${formatIpv4(addr)}/${len}".`);
    const idx = addrIndexOf(dev);
    if (idx.exact.has(addrKey(addr, len))) throw new NetlinkError('RTNETLINK answers: File exists');
    const net = addrKey(((addr & prefixMask(len)) >>> 0) as Ipv4Addr, len);
    // inet_insert_ifa: secondary when a primary of the same subnet is there already.
    const secondary = (idx.primaryNets.get(net) ?? 0) > 0;
    const brd = opts.broadcast === 'auto' ? (len < 31 ? cidrBroadcast({ addr, len }) : (0 as Ipv4Addr)) : (opts.broadcast ?? (0 as Ipv4Addr));
    const scope = opts.scope ?? ((addr >>> 24) === 127 ? 'host' : 'global');
    const a: InAddr = { dev, addr, len, broadcast: brd, scope, secondary };
    if (secondary) dev.inAddrs.push(a);
    else {
      // Primaries go after the last primary (they all precede the secondaries).
      dev.inAddrs.splice(idx.primaries, 0, a);
      idx.primaries++;
      idx.primaryNets.set(net, (idx.primaryNets.get(net) ?? 0) + 1);
    }
    idx.exact.add(addrKey(addr, len));
    this.addIfaddrRoutes(a);
    return a;
  }

  addrDel(devName: string, addr: Ipv4Addr, len: number): void {
    const dev = this.mustDev(devName);
    const a = dev.inAddrs.find((x) => x.addr === addr && x.len === len);
    if (!a) throw new NetlinkError('RTNETLINK answers: Cannot assign requested address');
    const doomed = a.secondary ? [a] : [a, ...dev.inAddrs.filter((x) => x.secondary && x.len === a.len && inAddrMatches(a, x.addr))];
    dev.inAddrs = dev.inAddrs.filter((x) => !doomed.includes(x));
    addrIndexes.delete(dev);
    for (const d of doomed) this.delIfaddrRoutes(d);
  }

  private primaryFor(a: InAddr): Ipv4Addr {
    if (!a.secondary) return a.addr;
    const p = a.dev.inAddrs.find((x) => !x.secondary && x.len === a.len && inAddrMatches(x, a.addr));
    return p ? p.addr : a.addr;
  }

  /** fib_add_ifaddr. */
  private addIfaddrRoutes(a: InAddr): void {
    const dev = a.dev;
    const prim = this.primaryFor(a);
    this.kernelRoute(RT_TABLE_LOCAL, 'local', a.addr, 32, dev, prim, 'host');
    if (!dev.adminUp) return;
    if (a.broadcast && a.broadcast !== 0xffffffff) this.kernelRoute(RT_TABLE_LOCAL, 'broadcast', a.broadcast, 32, dev, prim, 'link');
    const prefix = inAddrNetwork(a);
    if (prefix !== 0 && !a.secondary && (prefix !== a.addr || a.len < 32)) {
      if (dev.linkType === 'loopback') this.kernelRoute(RT_TABLE_LOCAL, 'local', prefix, a.len, dev, prim, 'host');
      else this.kernelRoute(RT_TABLE_MAIN, 'unicast', prefix, a.len, dev, prim, 'link');
      if (a.len < 31) this.kernelRoute(RT_TABLE_LOCAL, 'broadcast', (prefix | ~prefixMask(a.len)) >>> 0 as Ipv4Addr, 32, dev, prim, 'link');
    }
  }

  /** fib_del_ifaddr, simplified: the routes this address made, unless another address still needs them. */
  private delIfaddrRoutes(a: InAddr): void {
    const dev = a.dev;
    const stillLocal = (x: Ipv4Addr): boolean => [...this.byIndex.values()].some((d) => d.inAddrs.some((y) => y.addr === x));
    if (!stillLocal(a.addr)) this.local.removeWhere((r) => r.type === 'local' && r.len === 32 && r.dst === a.addr && r.proto === 'kernel');
    if (a.secondary) return;
    const prefix = inAddrNetwork(a);
    const others = dev.inAddrs.filter((y) => !y.secondary && y.len === a.len && inAddrMatches(y, a.addr));
    if (others.length) return;
    const bcast = (prefix | ~prefixMask(a.len)) >>> 0;
    for (const t of this.tables.values()) {
      t.removeWhere((r) => r.proto === 'kernel' && r.dev === dev && ((r.dst === prefix && r.len === a.len && r.type !== 'local') || (r.type === 'broadcast' && (r.dst === bcast || r.dst === a.broadcast)) || (r.type === 'local' && r.dst === prefix && r.len === a.len)));
    }
  }

  private kernelRoute(table: number, type: RouteType, dst: Ipv4Addr, len: number, dev: NetDevice, src: Ipv4Addr, scope: RouteScope): void {
    const t = this.tables.get(table)!;
    if (t.exact(dst, len).some((r) => r.type === type && r.dev === dev && r.prefsrc === src && r.metric === 0)) return;
    t.insert({ table, type, dst, len, tos: 0, via: 0 as Ipv4Addr, dev, proto: 'kernel', scope, prefsrc: src, metric: 0, onlink: false, mtu: 0, seq: this.routeSeq++ });
  }

  // ---- routes --------------------------------------------------------------------------

  private buildRoute(spec: RouteSpec): Route {
    const table = spec.table ?? (spec.type === 'local' || spec.type === 'broadcast' ? RT_TABLE_LOCAL : RT_TABLE_MAIN);
    const type = spec.type ?? 'unicast';
    const dev = spec.dev !== undefined ? this.mustDev(spec.dev) : null;
    const via = spec.via ?? (0 as Ipv4Addr);
    const dst = ((spec.dst & prefixMask(spec.len)) >>> 0) as Ipv4Addr;
    if (spec.dst !== dst) throw new NetlinkError(`Error: Invalid prefix for given prefix length.`);
    const needsDev = type === 'unicast' || type === 'local' || type === 'broadcast';
    let outDev = dev;
    if (needsDev) {
      if (via) {
        if (!spec.onlink) {
          // fib_check_nh: the gateway must be reachable by a scope link route.
          const r = this.main.lookup(via);
          if (!r || r.type !== 'unicast' || r.via !== 0 || (dev && r.dev !== dev)) throw new NetlinkError('Error: Nexthop has invalid gateway.');
          outDev = dev ?? r.dev;
        } else if (!dev) throw new NetlinkError('Error: Nexthop device required for onlink.');
      }
      if (!outDev) throw new NetlinkError('Error: Device for nexthop is not up.');
      if (!outDev.adminUp && type === 'unicast') throw new NetlinkError('Error: Nexthop device is not up.');
    }
    const scope = spec.scope ?? (type === 'local' ? 'host' : type === 'broadcast' ? 'link' : needsDev && !via && type === 'unicast' ? 'link' : 'global');
    if (spec.src !== undefined && !this.isLocalAddress(spec.src)) throw new NetlinkError('Error: Invalid prefsrc address.');
    return {
      table, type, dst, len: spec.len, tos: spec.tos ?? 0, via, dev: outDev, proto: spec.proto ?? 'boot', scope,
      prefsrc: spec.src ?? (0 as Ipv4Addr), metric: spec.metric ?? 0, onlink: spec.onlink ?? false, mtu: spec.mtu ?? 0, seq: this.routeSeq++,
    };
  }

  private table(id: number): FibTable {
    let t = this.tables.get(id);
    if (!t) {
      t = new FibTable(id);
      this.tables.set(id, t);
    }
    return t;
  }

  /** `ip route add`: fails if a route of the same prefix, tos and metric exists. */
  routeAdd(spec: RouteSpec): Route {
    const r = this.buildRoute(spec);
    const t = this.table(r.table);
    if (t.exact(r.dst, r.len).some((x) => x.tos === r.tos && x.metric === r.metric)) throw new NetlinkError('RTNETLINK answers: File exists');
    t.insert(r);
    return r;
  }

  /** `ip route replace`. */
  routeReplace(spec: RouteSpec): Route {
    const r = this.buildRoute(spec);
    const t = this.table(r.table);
    for (const x of t.exact(r.dst, r.len)) if (x.tos === r.tos && x.metric === r.metric) t.remove(x);
    t.insert(r);
    return r;
  }

  /** `ip route del`: the first route of the prefix matching what the spec gives. */
  routeDel(spec: Partial<RouteSpec> & { dst: Ipv4Addr; len: number }): void {
    const t = this.tables.get(spec.table ?? RT_TABLE_MAIN);
    const r = t?.exact(spec.dst, spec.len).find((x) =>
      (spec.metric === undefined || x.metric === spec.metric) && (spec.dev === undefined || x.dev?.name === spec.dev) &&
      (spec.via === undefined || x.via === spec.via) && (spec.type === undefined || x.type === spec.type));
    if (!t || !r) throw new NetlinkError('RTNETLINK answers: No such process');
    t.remove(r);
  }

  /** fib_lookup with the default rules: local, main, default. */
  fibLookup(dst: Ipv4Addr): Route | undefined {
    const r = this.local.lookup(dst);
    if (r !== undefined) return r;
    const m = this.main.lookup(dst);
    if (m !== undefined && m.type !== 'throw') return m;
    const d = this.tables.get(RT_TABLE_DEFAULT)!;
    return d.size ? d.lookup(dst) : undefined;
  }

  // ---- source address selection --------------------------------------------------------

  /** inet_select_addr(dev, dst, scope). */
  inetSelectAddr(dev: NetDevice | null, dst: Ipv4Addr, scope: number): Ipv4Addr {
    let addr = 0;
    if (dev) {
      for (const a of dev.inAddrs) {
        if (a.secondary) continue;
        if (SCOPE_NUM[a.scope] > scope) continue;
        if (!dst || inAddrMatches(a, dst)) return a.addr;
        if (!addr) addr = a.addr;
      }
      if (addr) return addr as Ipv4Addr;
    }
    // Any device's address of usable scope, loopback first (it is ifindex 1).
    for (const d of this.devicesInOrder()) {
      for (const a of d.inAddrs) {
        if (a.secondary || a.scope === 'link' || SCOPE_NUM[a.scope] > scope) continue;
        return a.addr;
      }
    }
    return 0 as Ipv4Addr;
  }

  /** fib_result_prefsrc. */
  routeSource(r: Route, dst: Ipv4Addr): Ipv4Addr {
    if (r.prefsrc) return r.prefsrc;
    if (r.type === 'local') return dst;
    return this.inetSelectAddr(r.dev, r.via || dst, SCOPE_NUM[r.scope]);
  }

  // ---- IpLayer / NfNetns ---------------------------------------------------------------

  isLocalAddress(a: Ipv4Addr): boolean {
    const r = this.local.lookup(a);
    return r !== undefined && r.type === 'local';
  }

  addressType(a: Ipv4Addr): 'UNICAST' | 'LOCAL' | 'BROADCAST' | 'MULTICAST' | 'BLACKHOLE' | 'UNREACHABLE' | 'PROHIBIT' | 'UNSPEC' {
    if (a === 0) return 'UNSPEC';
    if (a === 0xffffffff) return 'BROADCAST';
    if ((a >>> 28) === 0xe) return 'MULTICAST';
    const r = this.fibLookup(a);
    if (!r) return 'UNICAST';
    switch (r.type) {
      case 'local': return 'LOCAL';
      case 'broadcast': return 'BROADCAST';
      case 'blackhole': return 'BLACKHOLE';
      case 'unreachable': return 'UNREACHABLE';
      case 'prohibit': return 'PROHIBIT';
      default: return 'UNICAST';
    }
  }

  selectSourceAddress(outDev: string, dst: Ipv4Addr): Ipv4Addr | undefined {
    const dev = this.dev(outDev);
    if (!dev) return undefined;
    const r = this.fibLookup(dst);
    const nh = r && r.dev === dev && r.via ? r.via : dst;
    const a = this.inetSelectAddr(dev, nh, 0);
    return a || undefined;
  }

  sendLocal(packet: PacketBuffer): void {
    ipLocalOut(this, packet);
  }

  now(): number {
    return this.clock.now;
  }

  randomU32(): number {
    return this.rng.u32();
  }

  routeOutput(dst: Ipv4Addr, opts?: RouteOutputOptions): RouteInfo | RouteError {
    return routeOutput(this, dst, opts);
  }

  ipOutput(packet: PacketBuffer, oif = 0): 'sent' | RouteError {
    return ipLocalOut(this, packet, oif);
  }

  icmpSend(offending: PacketBuffer, type: number, code: number, info = 0): void {
    icmpSend(this, offending, type, code, info);
  }

  registerProtocol(proto: number, p: NetProtocol): void {
    this.protocols[proto] = p;
  }

  sysctl(name: string): string | undefined {
    return this.sysctl_.get(name);
  }

  /** Registers netfilter/IPVS hook functions (nf_register_net_hooks). */
  registerHooks(ops: readonly NfHookOps[]): void {
    this.hooks.register(ops);
  }

  unregisterHooks(ops: readonly NfHookOps[]): void {
    this.hooks.unregister(ops);
  }

  hookList(h: NfHook): readonly NfHookOps[] {
    return this.hooks.list(h);
  }

  /** ip_select_ident for packets without a per-socket ID: a counter per (daddr, proto) bucket with a random start. */
  selectIdent(daddr: Ipv4Addr, proto: number): number {
    const key = (daddr ^ (proto << 24)) >>> 0;
    let v = this.idents.get(key);
    if (v === undefined) v = this.rng.u32() & 0xffff;
    v = (v + 1) & 0xffff;
    this.idents.set(key, v);
    return v;
  }

  // ---- datapath entry points used by links ---------------------------------------------

  /** __netif_receive_skb_core on `dev`. */
  receive(dev: NetDevice, packet: PacketBuffer): void {
    linuxReceive(this, dev, packet);
  }

  /** ARP request for `n` (arp_solicit); `trigger` is the newest packet waiting for it. */
  arpSolicit(n: Neighbour, trigger: PacketBuffer | undefined, dstHw: MacAddr | null): void {
    arpSolicit(this, n, trigger, dstHw);
  }
}
