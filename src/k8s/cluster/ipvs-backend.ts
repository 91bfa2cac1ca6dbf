import { linkAdd, type Netns } from '../../linux/netlink.js';
import { hookOps, type IpvsConntrack } from '../../ipvs/hooks.js';
import { Ipvs } from '../../ipvs/ipvs.js';
import { IP_VS_CONN_F_MASQ } from '../../ipvs/constants.js';
import { formatIpv4, parseIpv4 } from '../../wire/ipv4-address.js';
import type { IpsetBackend, IpvsBackend, IpvsRealServer, IpvsVirtualServer, NetlinkBackend } from '../kube-proxy/ipvs.js';
import type { IpsetOp } from '../kube-proxy/ipset.js';
import type { ActionLog } from './actions.js';
import type { NetfilterIptables } from './iptables-backend.js';

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/**
 * kube-proxy's IPVS calls done on the ipvs model of one namespace, each logged as the
 * ipvsadm command it amounts to (the proxier speaks generic netlink; ipvsadm says the same).
 */
export class ModelIpvs implements IpvsBackend {
  readonly ipvs: Ipvs;
  private readonly vss = new Map<string, IpvsVirtualServer>();

  /** `conntrack` is netfilter's seam for net.ipv4.vs.conntrack=1 (ip_vs_nfct.c). */
  constructor(private readonly ns: Netns, private readonly log: ActionLog, private readonly agent: string, conntrack?: IpvsConntrack) {
    this.ipvs = new Ipvs({ clock: () => ns.clock.now, node: ns.node, netns: ns.netns });
    ns.registerHooks(hookOps(this.ipvs, conntrack));
  }

  private key(vs: Pick<IpvsVirtualServer, 'protocol' | 'address' | 'port'>): { protocol: number; addr: ReturnType<typeof parseIpv4>; port: number } {
    return { protocol: PROTO[vs.protocol] ?? 6, addr: parseIpv4(vs.address), port: vs.port };
  }

  private vsArgs(vs: IpvsVirtualServer): string[] {
    return [vs.protocol === 'UDP' ? '-u' : vs.protocol === 'SCTP' ? '--sctp-service' : '-t', `${vs.address}:${vs.port}`, '-s', vs.scheduler, ...(vs.timeout ? ['-p', String(vs.timeout)] : [])];
  }

  getVirtualServers(): IpvsVirtualServer[] {
    return [...this.vss.values()].map((v) => ({ ...v }));
  }
  getVirtualServer(key: string): IpvsVirtualServer | undefined {
    const v = this.vss.get(key);
    return v ? { ...v } : undefined;
  }
  private vkey(vs: IpvsVirtualServer): string {
    return `${vs.address}:${vs.port}/${vs.protocol}`;
  }
  addVirtualServer(vs: IpvsVirtualServer): void {
    this.ipvs.addService({ ...this.key(vs), scheduler: vs.scheduler, flags: vs.flags, timeout: vs.timeout, netmask: parseIpv4(vs.netmask) });
    this.vss.set(this.vkey(vs), { ...vs });
    this.log.tool(this.ns, this.agent, ['ipvsadm', '-A', ...this.vsArgs(vs)]);
  }
  updateVirtualServer(vs: IpvsVirtualServer): void {
    this.ipvs.editService({ ...this.key(vs), scheduler: vs.scheduler, flags: vs.flags, timeout: vs.timeout, netmask: parseIpv4(vs.netmask) });
    this.vss.set(this.vkey(vs), { ...vs });
    this.log.tool(this.ns, this.agent, ['ipvsadm', '-E', ...this.vsArgs(vs)]);
  }
  deleteVirtualServer(vs: IpvsVirtualServer): void {
    this.ipvs.delService(this.key(vs));
    this.vss.delete(this.vkey(vs));
    this.log.tool(this.ns, this.agent, ['ipvsadm', '-D', ...this.vsArgs(vs).slice(0, 2)]);
  }
  getRealServers(vs: IpvsVirtualServer): IpvsRealServer[] {
    const s = this.ipvs.getService(this.key(vs));
    return s ? s.dests.map((d) => ({ address: formatIpv4(d.addr), port: d.port, weight: d.weight, fwd: 'Masq' as const })) : [];
  }
  addRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void {
    this.ipvs.addDest(this.key(vs), { addr: parseIpv4(rs.address), port: rs.port, fwd: IP_VS_CONN_F_MASQ, weight: rs.weight });
    this.log.tool(this.ns, this.agent, ['ipvsadm', '-a', ...this.vsArgs(vs).slice(0, 2), '-r', `${rs.address}:${rs.port}`, '-m', '-w', String(rs.weight)]);
  }
  updateRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void {
    this.ipvs.editDest(this.key(vs), { addr: parseIpv4(rs.address), port: rs.port, fwd: IP_VS_CONN_F_MASQ, weight: rs.weight });
    this.log.tool(this.ns, this.agent, ['ipvsadm', '-e', ...this.vsArgs(vs).slice(0, 2), '-r', `${rs.address}:${rs.port}`, '-m', '-w', String(rs.weight)]);
  }
  deleteRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void {
    this.ipvs.delDest(this.key(vs), parseIpv4(rs.address), rs.port);
    this.log.tool(this.ns, this.agent, ['ipvsadm', '-d', ...this.vsArgs(vs).slice(0, 2), '-r', `${rs.address}:${rs.port}`]);
  }
  connections(vs: IpvsVirtualServer, rs: IpvsRealServer): number {
    const s = this.ipvs.getService(this.key(vs));
    const d = s?.dests.find((x) => formatIpv4(x.addr) === rs.address && x.port === rs.port);
    return d ? d.activeconns + d.inactconns : 0;
  }
}

/** kube-ipvs0 and its addresses, through the Linux model's netlink API. */
export class ModelNetlink implements NetlinkBackend {
  constructor(private readonly ns: Netns, private readonly log: ActionLog, private readonly agent: string) {}

  ensureDummyDevice(name: string): boolean {
    if (this.ns.dev(name)) return true;
    // kube-proxy creates it and never sets it up: `ip link` shows it DOWN, NOARP.
    linkAdd(this.ns, { name, kind: 'dummy' });
    this.log.tool(this.ns, this.agent, ['ip', 'link', 'add', name, 'type', 'dummy']);
    return false;
  }
  getLocalAddresses(dev: string): string[] {
    const d = this.ns.dev(dev);
    return d ? d.inAddrs.map((a) => formatIpv4(a.addr)) : [];
  }
  getAllLocalAddressesExcept(dev: string): string[] {
    const out: string[] = [];
    for (const d of this.ns.devicesInOrder()) {
      if (d.name === dev) continue;
      for (const a of d.inAddrs) if (a.addr >>> 24 !== 127) out.push(formatIpv4(a.addr));
    }
    return out;
  }
  /** Addresses this backend bound, per device: a set, so a full sync stays linear. */
  private readonly bound = new Map<string, Set<string>>();

  private boundOn(dev: string): Set<string> {
    let s = this.bound.get(dev);
    if (!s) this.bound.set(dev, (s = new Set(this.getLocalAddresses(dev))));
    return s;
  }

  ensureAddressBind(addr: string, dev: string): boolean {
    const set = this.boundOn(dev);
    if (set.has(addr)) return true;
    this.log.ip(this.ns, this.agent, `addr add ${addr}/32 dev ${dev}`);
    set.add(addr);
    return false;
  }
  unbindAddress(addr: string, dev: string): void {
    this.log.ip(this.ns, this.agent, `addr del ${addr}/32 dev ${dev}`);
    this.bound.get(dev)?.delete(addr);
  }
}

/** `ipset create|add|del -exist`, on the netfilter model's sets. */
export class ModelIpset implements IpsetBackend {
  constructor(private readonly ipt: NetfilterIptables, private readonly ns: Netns, private readonly log: ActionLog, private readonly agent: string) {}

  apply(ops: readonly IpsetOp[]): void {
    if (!ops.length) return;
    const text = ops.map((o) => (o.op === 'create' ? `create ${o.set} ${o.type} ${o.options}`.trimEnd() : `${o.op} ${o.set} ${o.entry}`)).join('\n') + '\n';
    this.ipt.nf.ipsetRestore(text, true);
    this.log.tool(this.ns, this.agent, ['ipset', 'restore', '-exist'], text);
  }
}
