/**
 * kube-proxy in ipvs mode, as pkg/proxy/ipvs/proxier.go (recent master) does it: every sync
 *  - ensures its iptables chains and the jump rules from built-in chains (-C / -I 1),
 *  - ensures the kube-ipvs0 dummy link and binds every ClusterIP (and externalIP / LB IP not
 *    already on another interface) as /32, unbinding the ones no longer wanted,
 *  - syncs one virtual server per service address:port (ClusterIP, externalIPs, LB ingress IPs,
 *    NodePort on every node IP) with real servers weight 1 (Masq), removed real servers going
 *    through graceful termination (weight 0 while they still have connections),
 *  - fills the ipsets, and writes the iptables-restore payload (nat first, then filter).
 * Virtual and real servers are plain data; the ipvs model applies them through IpvsBackend.
 * Go map iteration order (services, endpoints) is replaced by sorted order.
 */
import type { EndpointSlice, Protocol, Service } from '../api/types.js';
import type { IptablesBackend, TableName } from './backend.js';
import { masqueradeMark as markString, type KubeProxyConfig, type SysctlSetting, effectiveNodePortAddresses, kubeProxyConfig } from './config.js';
import { ProxierInformers } from './informers.js';
import { cidrString, contains, ipString, isLoopback, parseCidrSloppy, parseIpv4Sloppy } from './ip.js';
import { localDetectorFor, NodePortAddresses, type LocalDetector } from './iptables.js';
import {
  entryString,
  IPSET_INFO,
  ipsetRestoreText,
  createOptions,
  KUBE_CLUSTER_IP,
  KUBE_EXTERNAL_IP,
  KUBE_EXTERNAL_IP_LOCAL,
  KUBE_HEALTH_CHECK_NODE_PORT,
  KUBE_IPVS_IPS,
  KUBE_LOAD_BALANCER,
  KUBE_LOAD_BALANCER_FW,
  KUBE_LOAD_BALANCER_LOCAL,
  KUBE_LOAD_BALANCER_SOURCE_CIDR,
  KUBE_LOAD_BALANCER_SOURCE_IP,
  KUBE_LOOP_BACK,
  KUBE_NODE_PORT_LOCAL_SCTP,
  KUBE_NODE_PORT_LOCAL_TCP,
  KUBE_NODE_PORT_LOCAL_UDP,
  KUBE_NODE_PORT_SCTP,
  KUBE_NODE_PORT_TCP,
  KUBE_NODE_PORT_UDP,
  type IpsetEntry,
  type IpsetOp,
  type IpsetType,
} from './ipset.js';
import type { ServicePortInfo } from './service-port.js';
import { categorizeEndpoints } from './topology.js';
import type { Ipv4Addr } from '../../wire/ipv4-address.js';

export const KUBE_IPVS_DEVICE = 'kube-ipvs0';

// ip_vs service flags as pkg/proxy/ipvs/util (IP_VS_SVC_F_*).
export const IPVS_FLAG_PERSISTENT = 0x1;
export const IPVS_FLAG_HASHED = 0x2;
/** IP_VS_SVC_F_SCHED2: "mh-port" for mh (kube-proxy sets it with the mh scheduler). */
export const IPVS_FLAG_SOURCE_HASH = 0x10;

export interface IpvsRealServer {
  address: string;
  port: number;
  weight: number;
  /** kube-proxy always uses NAT forwarding. */
  fwd: 'Masq';
}

export interface IpvsVirtualServer {
  protocol: Protocol;
  address: string;
  port: number;
  scheduler: string;
  /** IP_VS_SVC_F_* bits */
  flags: number;
  /** persistence timeout in seconds (0 unless persistent) */
  timeout: number;
  /** always 255.255.255.255 for IPv4 (toIPVSService) */
  netmask: string;
}

/** VirtualServer.String(): "ADDR:PORT/PROTO". */
export function vsKey(vs: Pick<IpvsVirtualServer, 'address' | 'port' | 'protocol'>): string {
  return `${vs.address}:${vs.port}/${vs.protocol}`;
}

/** What kube-proxy needs from IPVS (pkg/proxy/ipvs/util Interface). */
export interface IpvsBackend {
  getVirtualServers(): IpvsVirtualServer[];
  getVirtualServer(key: string): IpvsVirtualServer | undefined;
  addVirtualServer(vs: IpvsVirtualServer): void;
  updateVirtualServer(vs: IpvsVirtualServer): void;
  deleteVirtualServer(vs: IpvsVirtualServer): void;
  getRealServers(vs: IpvsVirtualServer): IpvsRealServer[];
  addRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void;
  updateRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void;
  deleteRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void;
  /** active + inactive connections of a real server (graceful termination). */
  connections(vs: IpvsVirtualServer, rs: IpvsRealServer): number;
}

/** What kube-proxy needs from netlink (NetLinkHandle). */
export interface NetlinkBackend {
  ensureDummyDevice(name: string): boolean;
  /** addresses bound to one device */
  getLocalAddresses(dev: string): string[];
  /** every local address of the family on every device but `dev`, without loopback */
  getAllLocalAddressesExcept(dev: string): string[];
  /** ip addr add ADDR/32 dev DEV */
  ensureAddressBind(addr: string, dev: string): boolean;
  unbindAddress(addr: string, dev: string): void;
}

/** An IPVS operation as issued, for traces and for a model without the backend. */
export type IpvsOp =
  | { op: 'addVirtualServer' | 'updateVirtualServer' | 'deleteVirtualServer'; vs: IpvsVirtualServer }
  | { op: 'addRealServer' | 'updateRealServer' | 'deleteRealServer'; vs: IpvsVirtualServer; rs: IpvsRealServer };

/** What kube-proxy needs from ipset (it runs `ipset create -exist`, `add -exist`, `del`). */
export interface IpsetBackend {
  apply(ops: readonly IpsetOp[]): void;
}

export type NetlinkOp =
  | { op: 'ensureDummyDevice'; dev: string }
  /** `ip addr add ADDR/32 dev kube-ipvs0` (prefix 32 for IPv4, 128 for IPv6) and its removal. */
  | { op: 'bindAddress' | 'unbindAddress'; addr: string; prefix: number; dev: string };

/** In-memory IPVS table; real servers kept in the order they were added. */
export class MemoryIpvs implements IpvsBackend {
  readonly services = new Map<string, { vs: IpvsVirtualServer; dests: IpvsRealServer[] }>();
  readonly conns = new Map<string, number>();

  getVirtualServers(): IpvsVirtualServer[] {
    return [...this.services.values()].map((s) => ({ ...s.vs }));
  }
  getVirtualServer(key: string): IpvsVirtualServer | undefined {
    const s = this.services.get(key);
    return s === undefined ? undefined : { ...s.vs };
  }
  addVirtualServer(vs: IpvsVirtualServer): void {
    if (this.services.has(vsKey(vs))) throw new Error(`virtual server ${vsKey(vs)} exists`);
    this.services.set(vsKey(vs), { vs: { ...vs }, dests: [] });
  }
  updateVirtualServer(vs: IpvsVirtualServer): void {
    const s = this.services.get(vsKey(vs));
    if (s === undefined) throw new Error(`no virtual server ${vsKey(vs)}`);
    s.vs = { ...vs };
  }
  deleteVirtualServer(vs: IpvsVirtualServer): void {
    this.services.delete(vsKey(vs));
  }
  getRealServers(vs: IpvsVirtualServer): IpvsRealServer[] {
    return (this.services.get(vsKey(vs))?.dests ?? []).map((d) => ({ ...d }));
  }
  addRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void {
    const s = this.services.get(vsKey(vs));
    if (s === undefined) throw new Error(`no virtual server ${vsKey(vs)}`);
    const i = s.dests.findIndex((d) => d.address === rs.address && d.port === rs.port);
    if (i >= 0) throw new Error(`real server ${rs.address}:${rs.port} exists`);
    s.dests.push({ ...rs });
  }
  updateRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void {
    const d = this.services.get(vsKey(vs))?.dests.find((x) => x.address === rs.address && x.port === rs.port);
    if (d === undefined) throw new Error(`no real server ${rs.address}:${rs.port}`);
    d.weight = rs.weight;
  }
  deleteRealServer(vs: IpvsVirtualServer, rs: IpvsRealServer): void {
    const s = this.services.get(vsKey(vs));
    if (s !== undefined) s.dests = s.dests.filter((d) => !(d.address === rs.address && d.port === rs.port));
  }
  connections(vs: IpvsVirtualServer, rs: IpvsRealServer): number {
    return this.conns.get(`${vsKey(vs)}/${rs.address}:${rs.port}`) ?? 0;
  }
}

/** In-memory links and addresses (device -> addresses). */
export class MemoryNetlink implements NetlinkBackend {
  readonly devices = new Map<string, string[]>();
  constructor(devices: Record<string, string[]> = {}) {
    for (const [d, a] of Object.entries(devices)) this.devices.set(d, [...a]);
  }
  ensureDummyDevice(name: string): boolean {
    if (this.devices.has(name)) return true;
    this.devices.set(name, []);
    return false;
  }
  getLocalAddresses(dev: string): string[] {
    return [...(this.devices.get(dev) ?? [])];
  }
  getAllLocalAddressesExcept(dev: string): string[] {
    const out = new Set<string>();
    for (const [d, addrs] of this.devices) {
      if (d === dev) continue;
      for (const a of addrs) {
        const v = parseIpv4Sloppy(a);
        if (v !== undefined && !isLoopback(v)) out.add(ipString(v));
      }
    }
    return [...out];
  }
  ensureAddressBind(addr: string, dev: string): boolean {
    const l = this.devices.get(dev);
    if (l === undefined) throw new Error(`no device ${dev}`);
    if (l.includes(addr)) return true;
    l.push(addr);
    return false;
  }
  unbindAddress(addr: string, dev: string): void {
    const l = this.devices.get(dev);
    if (l !== undefined) this.devices.set(dev, l.filter((a) => a !== addr));
  }
}

/** Jump rules ensured on every sync (iptablesJumpChain). */
export const IPVS_JUMP_CHAINS: readonly { table: TableName; from: string; to: string; comment: string }[] = [
  { table: 'nat', from: 'OUTPUT', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'PREROUTING', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'POSTROUTING', to: 'KUBE-POSTROUTING', comment: 'kubernetes postrouting rules' },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-FORWARD', comment: 'kubernetes forwarding rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-NODE-PORT', comment: 'kubernetes health check rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-IPVS-FILTER', comment: 'kubernetes ipvs access filter' },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-IPVS-OUT-FILTER', comment: 'kubernetes ipvs access filter' },
];

/** Chains written every sync (iptablesChains). */
export const IPVS_CHAINS: readonly { table: TableName; chain: string }[] = [
  { table: 'nat', chain: 'KUBE-SERVICES' },
  { table: 'nat', chain: 'KUBE-POSTROUTING' },
  { table: 'nat', chain: 'KUBE-NODE-PORT' },
  { table: 'nat', chain: 'KUBE-LOAD-BALANCER' },
  { table: 'nat', chain: 'KUBE-MARK-MASQ' },
  { table: 'filter', chain: 'KUBE-FORWARD' },
  { table: 'filter', chain: 'KUBE-NODE-PORT' },
  { table: 'filter', chain: 'KUBE-PROXY-FIREWALL' },
  { table: 'filter', chain: 'KUBE-SOURCE-RANGES-FIREWALL' },
  { table: 'filter', chain: 'KUBE-IPVS-FILTER' },
  { table: 'filter', chain: 'KUBE-IPVS-OUT-FILTER' },
];

/** ipsetWithIptablesChain: set -> rule, in this fixed order. */
const IPSET_WITH_IPTABLES_CHAIN: readonly { name: string; table: TableName; from: string; to: string; matchType: string; protocolMatch: string }[] = [
  { name: KUBE_LOOP_BACK, table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', matchType: 'dst,dst,src', protocolMatch: '' },
  { name: KUBE_LOAD_BALANCER, table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', matchType: 'dst,dst', protocolMatch: '' },
  { name: KUBE_LOAD_BALANCER_LOCAL, table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', matchType: 'dst,dst', protocolMatch: '' },
  { name: KUBE_NODE_PORT_LOCAL_TCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', matchType: 'dst', protocolMatch: 'tcp' },
  { name: KUBE_NODE_PORT_TCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', matchType: 'dst', protocolMatch: 'tcp' },
  { name: KUBE_NODE_PORT_LOCAL_UDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', matchType: 'dst', protocolMatch: 'udp' },
  { name: KUBE_NODE_PORT_UDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', matchType: 'dst', protocolMatch: 'udp' },
  { name: KUBE_NODE_PORT_LOCAL_SCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', matchType: 'dst,dst', protocolMatch: 'sctp' },
  { name: KUBE_NODE_PORT_SCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', matchType: 'dst,dst', protocolMatch: 'sctp' },
  { name: KUBE_LOAD_BALANCER_FW, table: 'filter', from: 'KUBE-PROXY-FIREWALL', to: 'KUBE-SOURCE-RANGES-FIREWALL', matchType: 'dst,dst', protocolMatch: '' },
  { name: KUBE_LOAD_BALANCER_SOURCE_CIDR, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', matchType: 'dst,dst,src', protocolMatch: '' },
  { name: KUBE_LOAD_BALANCER_SOURCE_IP, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', matchType: 'dst,dst,src', protocolMatch: '' },
];

export interface IpvsProxierOptions {
  nodeName: string;
  nodeIP: string;
  config?: KubeProxyConfig;
  iptables: IptablesBackend;
  ipvs?: IpvsBackend;
  netlink: NetlinkBackend;
  /** Applies ipset operations before the iptables restore (which references the sets). */
  ipset?: IpsetBackend;
  masqueradeMark?: string;
  /** Overrides the detector derived from config (null = none, as upstream's NoOp detector). */
  localDetector?: LocalDetector | null;
  nodePodCIDR?: string;
  nodeLabels?: Record<string, string>;
  /** "major.minor" of the node's kernel: conn_reuse_mode is set to 0 only on 4.1 <= k < 5.9. */
  kernelVersion?: string;
}

export interface IpvsSyncResult {
  /** iptables-restore --noflush --counters input (nat, then filter). */
  restoreText: string;
  success: boolean;
  error?: Error;
  ipvsOps: IpvsOp[];
  netlinkOps: NetlinkOp[];
  ipsetOps: IpsetOp[];
  /** Every ipset's entries after the sync (KUBE-IPVS-IPS included). */
  ipsets: Map<string, Set<string>>;
  /** Addresses wanted on kube-ipvs0. */
  boundAddresses: string[];
  /** Per-service failures (logged and skipped, as upstream does). */
  errors: string[];
  /** The virtual servers this sync keeps, with their real servers, sorted as ipvsadm -Ln. */
  virtualServers: (IpvsVirtualServer & { dests: IpvsRealServer[] })[];
}

class Lines {
  readonly lines: string[] = [];
  write(...parts: (string | readonly string[])[]): void {
    const w: string[] = [];
    for (const p of parts) typeof p === 'string' ? w.push(p) : w.push(...p);
    this.lines.push(w.join(' '));
  }
  text(): string {
    return this.lines.map((l) => l + '\n').join('');
  }
}

function versionAtLeast(v: string, want: [number, number]): boolean {
  const [a = 0, b = 0] = v.split('.').map((x) => Number.parseInt(x, 10));
  return a > want[0] || (a === want[0] && b >= want[1]);
}

/** ipvsadm sort order: protocol number, then address (as ipvsadm's u32 subtraction), port. */
function protoNum(p: Protocol): number {
  return p === 'TCP' ? 6 : p === 'UDP' ? 17 : 132;
}

export class IpvsProxier extends ProxierInformers {
  readonly config: KubeProxyConfig;
  readonly scheduler: string;
  readonly masqueradeMark: string;
  readonly localDetector: LocalDetector | null;
  readonly nodePortAddresses: NodePortAddresses;
  readonly sysctls: SysctlSetting[] = [];
  readonly ipvs: IpvsBackend;
  private initialSync = true;
  private readonly current = new Map<string, Set<string>>(); // ipset contents as last written
  /** graceful termination list: "vsKey/ip:port" */
  private readonly terminating = new Set<string>();
  private readonly nodeIPAddr: Ipv4Addr | undefined;

  constructor(readonly opts: IpvsProxierOptions) {
    super(opts.nodeName);
    this.config = opts.config ?? kubeProxyConfig({ mode: 'ipvs' });
    this.scheduler = this.config.ipvs.scheduler === '' ? 'rr' : this.config.ipvs.scheduler;
    this.masqueradeMark = opts.masqueradeMark ?? markString(this.config.masqueradeBit);
    this.localDetector = opts.localDetector !== undefined ? opts.localDetector : localDetectorFor(this.config, opts.nodePodCIDR);
    this.nodePortAddresses = new NodePortAddresses(effectiveNodePortAddresses(this.config, opts.nodeIP));
    this.ipvs = opts.ipvs ?? new MemoryIpvs();
    this.nodeIPAddr = parseIpv4Sloppy(opts.nodeIP);
    // NewProxier's sysctls, in its order.
    this.sysctls.push({ name: 'net/ipv4/vs/conntrack', value: 1 });
    const kv = opts.kernelVersion ?? '6.8';
    if (versionAtLeast(kv, [4, 1]) && !versionAtLeast(kv, [5, 9])) this.sysctls.push({ name: 'net/ipv4/vs/conn_reuse_mode', value: 0 });
    this.sysctls.push({ name: 'net/ipv4/vs/expire_nodest_conn', value: 1 });
    this.sysctls.push({ name: 'net/ipv4/vs/expire_quiescent_template', value: 1 });
    this.sysctls.push({ name: 'net/ipv4/ip_forward', value: 1 });
    if (this.config.ipvs.strictARP) {
      this.sysctls.push({ name: 'net/ipv4/conf/all/arp_ignore', value: 1 });
      this.sysctls.push({ name: 'net/ipv4/conf/all/arp_announce', value: 2 });
    }
  }

  /** The dummy VS CanUseIPVSProxier adds and deletes at startup to probe the scheduler. */
  probeVirtualServer(): IpvsVirtualServer {
    return { protocol: 'TCP', address: '198.51.100.0', port: 20000, scheduler: this.scheduler, flags: 0, timeout: 0, netmask: '255.255.255.255' };
  }


  private newVS(svc: ServicePortInfo, address: string, port: number): IpvsVirtualServer {
    let flags = 0;
    let timeout = 0;
    if (svc.sessionAffinityClientIP) {
      flags |= IPVS_FLAG_PERSISTENT;
      timeout = svc.stickyMaxAgeSeconds;
    }
    if (this.scheduler === 'mh') flags |= IPVS_FLAG_SOURCE_HASH;
    return { protocol: svc.protocol, address, port, scheduler: this.scheduler, flags, timeout, netmask: '255.255.255.255' };
  }

  syncProxyRules(): IpvsSyncResult {
    this.services.checkout();
    this.endpoints.checkout();
    const ipt = this.opts.iptables;
    const nl = this.opts.netlink;
    const ipvsOps: IpvsOp[] = [];
    const netlinkOps: NetlinkOp[] = [];
    const ipsetOps: IpsetOp[] = [];
    const mark = this.masqueradeMark;

    const natChains = new Lines();
    const natRules = new Lines();
    const filterChains = new Lines();
    const filterRules = new Lines();
    natChains.write('*nat');
    filterChains.write('*filter');

    // createAndLinkKubeChain: every sync.
    for (const c of IPVS_CHAINS) {
      ipt.ensureChain(c.table, c.chain);
      (c.table === 'nat' ? natChains : filterChains).write(`:${c.chain} - [0:0]`);
    }
    for (const j of IPVS_JUMP_CHAINS) ipt.ensureRule('prepend', j.table, j.from, ['-m', 'comment', '--comment', j.comment, '-j', j.to]);

    if (!nl.ensureDummyDevice(KUBE_IPVS_DEVICE)) netlinkOps.push({ op: 'ensureDummyDevice', dev: KUBE_IPVS_DEVICE });

    const active = new Map<string, Set<string>>(IPSET_INFO.map((i) => [i.name, new Set<string>()]));
    const typeOf = new Map<string, IpsetType>(IPSET_INFO.map((i) => [i.name, i.type]));
    const insert = (set: string, e: IpsetEntry): void => {
      active.get(set)!.add(entryString(typeOf.get(set)!, e));
    };

    const activeIPVSServices = new Set<string>();
    const activeBindAddrs = new Set<string>();
    const alreadyBound = new Set(nl.getLocalAddresses(KUBE_IPVS_DEVICE));
    const nodeAddressSet = new Set(nl.getAllLocalAddressesExcept(KUBE_IPVS_DEVICE));
    const lbNoNodeAccess: { ip: string; protocol: string; port: number }[] = [];

    const svcKeys = [...this.services.svcPortMap.keys()].sort();
    const hasNodePort = svcKeys.some((k) => this.services.svcPortMap.get(k)!.nodePort !== 0);
    let nodeIPs: string[] = [];
    if (hasNodePort) {
      if (this.nodePortAddresses.matchAll) nodeIPs = [...nodeAddressSet].sort(byAddress);
      else {
        nodeIPs = this.nodePortAddresses
          .nodeIPs([...nodeAddressSet, ...nl.getLocalAddresses('lo')])
          .filter((ip) => !isLoopback(parseIpv4Sloppy(ip)!))
          .sort(byAddress);
      }
    }

    const errors: string[] = [];
    const syncService = (vs: IpvsVirtualServer, bindAddr: boolean): void => {
      const applied = this.ipvs.getVirtualServer(vsKey(vs));
      if (applied === undefined) {
        this.ipvs.addVirtualServer(vs);
        ipvsOps.push({ op: 'addVirtualServer', vs });
      } else if (!sameVS(applied, vs)) {
        this.ipvs.updateVirtualServer(vs);
        ipvsOps.push({ op: 'updateVirtualServer', vs });
      }
      if (bindAddr && !alreadyBound.has(vs.address)) {
        if (!nl.ensureAddressBind(vs.address, KUBE_IPVS_DEVICE)) netlinkOps.push({ op: 'bindAddress', addr: vs.address, prefix: 32, dev: KUBE_IPVS_DEVICE });
      }
    };

    const syncEndpoint = (svcKey: string, svc: ServicePortInfo, onlyNodeLocal: boolean, vs: IpvsVirtualServer): void => {
      const curDests = this.ipvs.getRealServers(vs);
      const cur = new Set(curDests.map((d) => `${d.address}:${d.port}`));
      const all = this.endpoints.endpointsMap.get(svcKey) ?? [];
      const cat = categorizeEndpoints(all, svc, {
        nodeName: this.opts.nodeName,
        ...(this.opts.nodeLabels !== undefined ? { nodeLabels: this.opts.nodeLabels } : {}),
      });
      // With a Local policy and no local endpoints, fall back to cluster endpoints so local
      // pods still reach the service (#97081).
      const eps = onlyNodeLocal ? (cat.localEndpoints.length > 0 ? cat.localEndpoints : cat.clusterEndpoints) : cat.clusterEndpoints;
      const wanted = new Set(eps.map((e) => e.endpoint));
      for (const ep of [...wanted].sort()) {
        const colon = ep.lastIndexOf(':');
        const rs: IpvsRealServer = { address: ep.slice(0, colon), port: Number(ep.slice(colon + 1)), weight: 1, fwd: 'Masq' };
        const unique = `${vsKey(vs)}/${ep}`;
        if (cur.has(ep)) {
          if (this.initialSync) {
            // On startup, reset weights left by a previous run.
            for (const d of curDests) {
              if (d.weight !== rs.weight) {
                this.ipvs.updateRealServer(vs, rs);
                ipvsOps.push({ op: 'updateRealServer', vs, rs });
              }
            }
          }
          if (!this.terminating.has(unique)) continue;
          // Re-added while terminating: pulled out of the list and re-added.
          this.terminating.delete(unique);
          this.ipvs.deleteRealServer(vs, rs);
          ipvsOps.push({ op: 'deleteRealServer', vs, rs });
        }
        this.ipvs.addRealServer(vs, rs);
        ipvsOps.push({ op: 'addRealServer', vs, rs });
      }
      for (const ep of [...cur].filter((e) => !wanted.has(e)).sort()) {
        const unique = `${vsKey(vs)}/${ep}`;
        if (this.terminating.has(unique)) continue;
        const d = curDests.find((x) => `${x.address}:${x.port}` === ep)!;
        this.gracefulDelete(vs, d, ipvsOps);
      }
    };

    // syncService then syncEndpoint; a failure is logged and the service skipped (upstream).
    const sync = (key: string, svc: ServicePortInfo, vs: IpvsVirtualServer, bind: boolean, onlyLocal: boolean, onOk: () => unknown): void => {
      try {
        syncService(vs, bind);
      } catch (e) {
        errors.push(`Failed to sync service ${svc.nameString} ${vsKey(vs)}: ${(e as Error).message}`);
        return;
      }
      activeIPVSServices.add(vsKey(vs));
      onOk();
      try {
        syncEndpoint(key, svc, onlyLocal, vs);
      } catch (e) {
        errors.push(`Failed to sync endpoint for service ${svc.nameString} ${vsKey(vs)}: ${(e as Error).message}`);
      }
    };

    for (const key of svcKeys) {
      const svc = this.services.svcPortMap.get(key)!;
      const protocol = svc.protocol.toLowerCase();
      for (const ep of this.endpoints.endpointsMap.get(key) ?? []) {
        if (!ep.isLocal) continue;
        insert(KUBE_LOOP_BACK, { ip: ep.ip, port: ep.port, protocol, ip2: ep.ip });
      }

      insert(KUBE_CLUSTER_IP, { ip: svc.clusterIP, port: svc.port, protocol });
      const cvs = this.newVS(svc, svc.clusterIP, svc.port);
      sync(key, svc, cvs, true, svc.internalPolicyLocal, () => activeBindAddrs.add(cvs.address));

      for (const eip of svc.externalIPs) {
        insert(svc.externalPolicyLocal ? KUBE_EXTERNAL_IP_LOCAL : KUBE_EXTERNAL_IP, { ip: eip, port: svc.port, protocol });
        const vs = this.newVS(svc, eip, svc.port);
        // Not bound to kube-ipvs0 when another interface already holds it.
        const shouldBind = !nodeAddressSet.has(eip);
        sync(key, svc, vs, shouldBind, svc.externalPolicyLocal, () => shouldBind && activeBindAddrs.add(eip));
      }

      for (const lb of svc.loadBalancerVIPs) {
        const e = { ip: lb, port: svc.port, protocol };
        insert(KUBE_LOAD_BALANCER, e);
        if (svc.externalPolicyLocal) insert(KUBE_LOAD_BALANCER_LOCAL, e);
        if (svc.loadBalancerSourceRanges.length !== 0) {
          insert(KUBE_LOAD_BALANCER_FW, e);
          let allowFromNode = false;
          for (const c of svc.loadBalancerSourceRanges) {
            insert(KUBE_LOAD_BALANCER_SOURCE_CIDR, { ...e, net: cidrString(c) });
            if (this.nodeIPAddr !== undefined && contains(c, this.nodeIPAddr)) allowFromNode = true;
          }
          if (allowFromNode) insert(KUBE_LOAD_BALANCER_SOURCE_IP, { ...e, ip2: lb });
          else lbNoNodeAccess.push(e);
        }
        const vs = this.newVS(svc, lb, svc.port);
        const shouldBind = !nodeAddressSet.has(lb);
        sync(key, svc, vs, shouldBind, svc.externalPolicyLocal, () => shouldBind && activeBindAddrs.add(lb));
      }

      if (svc.nodePort !== 0 && nodeIPs.length > 0) {
        let set: string | undefined;
        let localSet: string | undefined;
        let entries: IpsetEntry[] = [];
        if (protocol === 'tcp') {
          set = KUBE_NODE_PORT_TCP;
          localSet = KUBE_NODE_PORT_LOCAL_TCP;
          entries = [{ port: svc.nodePort, protocol }];
        } else if (protocol === 'udp') {
          set = KUBE_NODE_PORT_UDP;
          localSet = KUBE_NODE_PORT_LOCAL_UDP;
          entries = [{ port: svc.nodePort, protocol }];
        } else {
          // SCTP uses hash:ip,port with every node IP.
          set = KUBE_NODE_PORT_SCTP;
          localSet = KUBE_NODE_PORT_LOCAL_SCTP;
          entries = nodeIPs.map((ip) => ({ ip, port: svc.nodePort, protocol }));
        }
        for (const e of entries) insert(set, e);
        if (svc.externalPolicyLocal) for (const e of entries) insert(localSet, e);
        for (const ip of nodeIPs) {
          const vs = this.newVS(svc, ip, svc.nodePort);
          sync(key, svc, vs, false, svc.externalPolicyLocal, () => undefined);
        }
      }

      if (svc.healthCheckNodePort !== 0) insert(KUBE_HEALTH_CHECK_NODE_PORT, { port: svc.healthCheckNodePort, protocol: 'tcp' });
    }

    active.set(KUBE_IPVS_IPS, new Set(activeBindAddrs));

    // syncIPSetEntries: create -exist every sync, then del/add the difference.
    for (const info of IPSET_INFO) {
      const want = active.get(info.name)!;
      let have = this.current.get(info.name);
      if (have === undefined) {
        ipsetOps.push({ op: 'create', set: info.name, type: info.type, options: createOptions(info.type) });
        have = new Set();
      }
      for (const e of [...have].filter((x) => !want.has(x)).sort()) ipsetOps.push({ op: 'del', set: info.name, entry: e });
      for (const e of [...want].filter((x) => !have.has(x)).sort()) ipsetOps.push({ op: 'add', set: info.name, entry: e });
      this.current.set(info.name, new Set(want));
    }

    this.opts.ipset?.apply(ipsetOps);
    this.writeIptablesRules(natRules, filterRules, active, lbNoNodeAccess, mark);

    const restoreText = natChains.text() + natRules.text() + filterChains.text() + filterRules.text();
    const base = { restoreText, ipvsOps, netlinkOps, ipsetOps, errors, ipsets: active, boundAddresses: [...activeBindAddrs].sort(byAddress) };
    try {
      ipt.restoreAll(restoreText);
    } catch (e) {
      this.initialSync = false;
      return { ...base, success: false, error: e as Error, virtualServers: this.listVirtualServers() };
    }

    for (const a of [...alreadyBound].filter((x) => !activeBindAddrs.has(x)).sort()) {
      nl.unbindAddress(a, KUBE_IPVS_DEVICE);
      netlinkOps.push({ op: 'unbindAddress', addr: a, prefix: 32, dev: KUBE_IPVS_DEVICE });
    }
    // cleanLegacyService: delete virtual servers this sync did not keep (excludeCIDRs spared).
    const exclude = this.config.ipvs.excludeCIDRs.map((c) => parseCidrSloppy(c)).filter((c) => c !== undefined);
    for (const vs of this.ipvs.getVirtualServers().sort(compareVS)) {
      const a = parseIpv4Sloppy(vs.address);
      if (a === undefined || exclude.some((c) => contains(c, a))) continue;
      if (!activeIPVSServices.has(vsKey(vs))) {
        this.ipvs.deleteVirtualServer(vs);
        ipvsOps.push({ op: 'deleteVirtualServer', vs });
      }
    }
    this.initialSync = false;
    return { ...base, success: true, virtualServers: this.listVirtualServers() };
  }

  /** GracefulTerminationManager.GracefulDeleteRS: delete now if idle, else weight 0 and queue. */
  private gracefulDelete(vs: IpvsVirtualServer, rs: IpvsRealServer, ops: IpvsOp[]): void {
    if (this.ipvs.connections(vs, rs) === 0) {
      this.ipvs.deleteRealServer(vs, rs);
      ops.push({ op: 'deleteRealServer', vs, rs });
      return;
    }
    const zero = { ...rs, weight: 0 };
    this.ipvs.updateRealServer(vs, zero);
    ops.push({ op: 'updateRealServer', vs, rs: zero });
    this.terminating.add(`${vsKey(vs)}/${rs.address}:${rs.port}`);
  }

  /** The graceful-termination sweep (upstream runs it every minute). */
  tryDeleteTerminating(): IpvsOp[] {
    const ops: IpvsOp[] = [];
    for (const u of [...this.terminating].sort()) {
      const [vsPart, ep] = [u.slice(0, u.lastIndexOf('/')), u.slice(u.lastIndexOf('/') + 1)];
      const vs = this.ipvs.getVirtualServer(vsPart);
      const colon = ep.lastIndexOf(':');
      const rs: IpvsRealServer = { address: ep.slice(0, colon), port: Number(ep.slice(colon + 1)), weight: 0, fwd: 'Masq' };
      if (vs === undefined) {
        this.terminating.delete(u);
        continue;
      }
      if (this.ipvs.connections(vs, rs) === 0) {
        this.ipvs.deleteRealServer(vs, rs);
        ops.push({ op: 'deleteRealServer', vs, rs });
        this.terminating.delete(u);
      }
    }
    return ops;
  }

  private listVirtualServers(): (IpvsVirtualServer & { dests: IpvsRealServer[] })[] {
    return this.ipvs
      .getVirtualServers()
      .sort(compareVS)
      .map((vs) => ({ ...vs, dests: this.ipvs.getRealServers(vs).sort((a, b) => byAddress(a.address, b.address) || a.port - b.port) }));
  }

  /** The current ipsets in `ipset restore` form. */
  ipsetRestoreText(): string {
    return ipsetRestoreText(this.current);
  }

  private writeIptablesRules(
    natRules: Lines,
    filterRules: Lines,
    sets: Map<string, Set<string>>,
    lbNoNodeAccess: readonly { ip: string; protocol: string; port: number }[],
    mark: string,
  ): void {
    const comment = (name: string): string => `"${IPSET_INFO.find((i) => i.name === name)!.comment}"`;
    const empty = (name: string): boolean => sets.get(name)!.size === 0;
    // Connections to localhost leave the service chain early.
    natRules.write('-A', 'KUBE-SERVICES', '-s', '127.0.0.0/8', '-j', 'RETURN');
    for (const s of IPSET_WITH_IPTABLES_CHAIN) {
      if (empty(s.name)) continue;
      const args = ['-A', s.from];
      if (s.protocolMatch !== '') args.push('-p', s.protocolMatch);
      args.push('-m', 'comment', '--comment', comment(s.name), '-m', 'set', '--match-set', s.name, s.matchType);
      (s.table === 'filter' ? filterRules : natRules).write(args, '-j', s.to);
    }
    if (!empty(KUBE_CLUSTER_IP)) {
      const args = ['-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', comment(KUBE_CLUSTER_IP), '-m', 'set', '--match-set', KUBE_CLUSTER_IP];
      if (this.config.masqueradeAll) natRules.write(args, 'dst,dst', '-j', 'KUBE-MARK-MASQ');
      else if (this.localDetector !== null) natRules.write(args, 'dst,dst', this.localDetector.ifNotLocal, '-j', 'KUBE-MARK-MASQ');
      // No detector: masquerade node-originated traffic whose source is a VIP on kube-ipvs0.
      else natRules.write(args, 'src,dst', '-j', 'KUBE-MARK-MASQ');
    }
    const externalIPRules = (args: string[]): void => {
      // Traffic not from a bridge nor a local process ("from off-machine"), and traffic to
      // external IPs that are local addresses, is accepted to stay local.
      natRules.write(args, '-m', 'physdev', '!', '--physdev-is-in', '-m', 'addrtype', '!', '--src-type', 'LOCAL', '-j', 'ACCEPT');
      natRules.write(args, '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'ACCEPT');
    };
    if (!empty(KUBE_EXTERNAL_IP)) {
      const args = ['-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', comment(KUBE_EXTERNAL_IP), '-m', 'set', '--match-set', KUBE_EXTERNAL_IP, 'dst,dst'];
      natRules.write(args, '-j', 'KUBE-MARK-MASQ');
      externalIPRules(args);
    }
    if (!empty(KUBE_EXTERNAL_IP_LOCAL)) {
      externalIPRules(['-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', comment(KUBE_EXTERNAL_IP_LOCAL), '-m', 'set', '--match-set', KUBE_EXTERNAL_IP_LOCAL, 'dst,dst']);
    }
    natRules.write('-A', 'KUBE-SERVICES', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'KUBE-NODE-PORT');
    natRules.write('-A', 'KUBE-LOAD-BALANCER', '-j', 'KUBE-MARK-MASQ');
    filterRules.write('-A', 'KUBE-SOURCE-RANGES-FIREWALL', '-j', 'DROP');
    // The node itself may not reach an LB whose source ranges exclude it.
    for (const e of lbNoNodeAccess) {
      filterRules.write('-A', 'KUBE-IPVS-OUT-FILTER', '-s', e.ip, '-m', 'ipvs', '--vaddr', e.ip, '--vproto', e.protocol, '--vport', String(e.port), '-j', 'DROP');
    }
    // acceptIPVSTraffic: must be the end of KUBE-SERVICES.
    for (const s of [KUBE_CLUSTER_IP, KUBE_LOAD_BALANCER]) {
      if (!empty(s)) natRules.write('-A', 'KUBE-SERVICES', '-m', 'set', '--match-set', s, 'dst,dst', '-j', 'ACCEPT');
    }
    filterRules.write('-A', 'KUBE-FORWARD', '-m', 'comment', '--comment', '"kubernetes forwarding rules"', '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
    filterRules.write('-A', 'KUBE-FORWARD', '-m', 'comment', '--comment', '"kubernetes forwarding conntrack rule"', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
    filterRules.write('-A', 'KUBE-NODE-PORT', '-m', 'comment', '--comment', comment(KUBE_HEALTH_CHECK_NODE_PORT), '-m', 'set', '--match-set', KUBE_HEALTH_CHECK_NODE_PORT, 'dst', '-j', 'ACCEPT');
    // KUBE-IPVS-FILTER: host ports must not answer on VIPs (#72236).
    for (const [s, m] of [
      [KUBE_LOAD_BALANCER, 'dst,dst'],
      [KUBE_CLUSTER_IP, 'dst,dst'],
      [KUBE_EXTERNAL_IP, 'dst,dst'],
      [KUBE_EXTERNAL_IP_LOCAL, 'dst,dst'],
      [KUBE_HEALTH_CHECK_NODE_PORT, 'dst'],
    ] as const) {
      filterRules.write('-A', 'KUBE-IPVS-FILTER', '-m', 'set', '--match-set', s, m, '-j', 'RETURN');
    }
    filterRules.write('-A', 'KUBE-IPVS-FILTER', '-m', 'conntrack', '--ctstate', 'NEW', '-m', 'set', '--match-set', KUBE_IPVS_IPS, 'dst', '-j', 'REJECT');
    natRules.write('-A', 'KUBE-POSTROUTING', '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
    natRules.write('-A', 'KUBE-POSTROUTING', '-j', 'MARK', '--xor-mark', mark);
    const masq = ['-A', 'KUBE-POSTROUTING', '-m', 'comment', '--comment', '"kubernetes service traffic requiring SNAT"', '-j', 'MASQUERADE'];
    if (this.opts.iptables.hasRandomFully) masq.push('--random-fully');
    natRules.write(masq);
    natRules.write('-A', 'KUBE-MARK-MASQ', '-j', 'MARK', '--or-mark', mark);
    filterRules.write('COMMIT');
    natRules.write('COMMIT');
  }
}

function sameVS(a: IpvsVirtualServer, b: IpvsVirtualServer): boolean {
  return a.scheduler === b.scheduler && a.flags === b.flags && a.timeout === b.timeout && a.netmask === b.netmask;
}

/** ipvsadm's address compare: `int r = ntohl(a) - ntohl(b)` (32-bit wrap). */
function byAddress(a: string, b: string): number {
  const x = parseIpv4Sloppy(a) ?? 0;
  const y = parseIpv4Sloppy(b) ?? 0;
  return (x - y) | 0;
}

function compareVS(a: IpvsVirtualServer, b: IpvsVirtualServer): number {
  return protoNum(a.protocol) - protoNum(b.protocol) || byAddress(a.address, b.address) || a.port - b.port;
}
