/**
 * `ip link` / `ip -d link` text, as iproute2 6.1 print_linkinfo prints it (flags in
 * print_link_flags order, qdisc, master, operstate, link-netns for a veth peer elsewhere,
 * the kind's details). Per-machine constants (veth queues = 2, the reference machine's CPU
 * count) are those of the machine the goldens were taken on.
 */
import { formatMac } from '../../wire/mac-address.js';
import { BridgeDevice } from '../link/bridge.js';
import type { NetDevice } from '../link/device.js';
import { VethDevice } from '../link/veth.js';
import { VxlanDevice } from '../link/vxlan.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';
import type { Netns } from '../netns.js';

export function linkFlags(d: NetDevice): string {
  const f: string[] = [];
  if (d.adminUp && !d.carrier()) f.push('NO-CARRIER');
  if (d.kind === 'loopback') f.push('LOOPBACK');
  else f.push('BROADCAST');
  if (d.kind === 'dummy') f.push('NOARP');
  else if (d.kind !== 'loopback') f.push('MULTICAST');
  if (d.adminUp) f.push('UP');
  if (d.adminUp && d.carrier()) f.push('LOWER_UP');
  if (d instanceof VethDevice && d.peer.netns === d.netns && !d.peer.adminUp) f.push('M-DOWN');
  return f.join(',');
}

function qdisc(d: NetDevice): string {
  if (!d.adminUp) return 'noop';
  return d.kind === 'nic' ? 'fq_codel' : 'noqueue';
}

/** The first line: `2: eth0@if4: <...> mtu 1450 qdisc noqueue master cni0 state UP[ mode DEFAULT] group default qlen 1000`. */
export function linkHeader(d: NetDevice, mode: boolean): string {
  let name = d.name;
  if (d instanceof VethDevice) name += d.peer.netns === d.netns ? `@${d.peer.name}` : `@if${d.peer.ifindex}`;
  const master = d.master ? ` master ${d.master.name}` : '';
  return `${d.ifindex}: ${name}: <${linkFlags(d)}> mtu ${d.mtu} qdisc ${qdisc(d)}${master} state ${d.operstate()}${mode ? ' mode DEFAULT' : ''} group default qlen ${d.txqlen}`;
}

/** `    link/ether MAC brd ff:ff:ff:ff:ff:ff[ link-netns NS]`. */
export function linkLine(d: NetDevice): string {
  const lt = d.linkType === 'loopback' ? 'loopback' : 'ether';
  const brd = d.linkType === 'loopback' ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff';
  let s = `    link/${lt} ${formatMac(d.mac)} brd ${brd}`;
  if (d instanceof VethDevice && d.peer.netns !== d.netns) {
    // The dump gives the peer's namespace an id here if it had none (rtnl_fill_link_netnsid);
    // iproute2 prints its /var/run/netns name when it has one, else the id.
    const peer = d.peer.netns;
    const id = d.netns.nsidOf(peer);
    s += peer.mountName !== null ? ` link-netns ${peer.mountName}` : ` link-netnsid ${id}`;
  }
  return s;
}

function timer(sec: number): string {
  const s = Math.max(0, sec);
  const whole = Math.floor(s);
  const cs = Math.floor((s - whole) * 100);
  return `${String(whole).padStart(4, ' ')}.${String(cs).padStart(2, '0')}`;
}

function tail(queues: number, tso: number): string {
  return `addrgenmode eui64 numtxqueues ${queues} numrxqueues ${queues} gso_max_size 65536 gso_max_segs 65535 tso_max_size ${tso} tso_max_segs 65535 gro_max_size 65536 `;
}

function bridgeDetails(b: BridgeDevice, now: number): string {
  const id = b.bridgeId();
  const gc = 300 - (((now - b.created) / 1e9) % 300);
  return `    bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time ${Math.round(b.fdb.ageing / 1e7)} stp_state 0 priority 32768 vlan_filtering 0 bridge_id ${id} designated_root ${id} root_port 0 root_path_cost 0 topology_change 0 topology_change_detected 0 hello_timer ${timer(0)} tcn_timer ${timer(0)} topology_change_timer ${timer(0)} gc_timer ${timer(gc)} group_fwd_mask 0 group_address 01:80:c2:00:00:00 mcast_snooping 1 no_linklocal_learn 0 mcast_vlan_snooping 0 mcast_router 1 mcast_query_use_ifaddr 0 mcast_querier 0 mcast_hash_elasticity 16 mcast_hash_max 4096 mcast_last_member_count 2 mcast_startup_query_count 2 mcast_last_member_interval 100 mcast_membership_interval 26000 mcast_querier_interval 25500 mcast_query_interval 12500 mcast_query_response_interval 1000 mcast_startup_query_interval 3124 mcast_stats_enabled 0 mcast_igmp_version 2 mcast_mld_version 1 nf_call_iptables ${b.nfCallIptables ? 1 : 0} nf_call_ip6tables 0 nf_call_arptables 0 ${tail(1, 524280)}`;
}

function slaveDetails(d: NetDevice, now: number): string {
  const p = d.brport!;
  const id = p.bridge.bridgeId();
  const portId = 0x8000 | p.portNo;
  const fwd = 15 - (now - p.since) / 1e9;
  return `    bridge_slave state forwarding priority 32 cost 2 hairpin ${p.hairpin ? 'on' : 'off'} guard off root_block off fastleave off learning ${p.learning ? 'on' : 'off'} flood ${p.flood ? 'on' : 'off'} port_id 0x${portId.toString(16)} port_no 0x${p.portNo.toString(16)} designated_port ${portId} designated_cost 0 designated_bridge ${id} designated_root ${id} hold_timer ${timer(0)} message_age_timer ${timer(0)} forward_delay_timer ${timer(fwd > 0 ? fwd : 0)} topology_change_ack 0 config_pending 0 proxy_arp off proxy_arp_wifi off mcast_router 1 mcast_fast_leave off mcast_flood on bcast_flood on mcast_to_unicast off neigh_suppress off group_fwd_mask 0 group_fwd_mask_str 0x0 vlan_tunnel off isolated off locked off `;
}

/** The `-d` part after the link line. */
function details(d: NetDevice, now: number): string {
  const promisc = (d.brport ? 1 : 0) + d.promiscuity;
  const allmulti = d.brport ? 1 : 0;
  const mtus = d.kind === 'loopback' ? 'minmtu 0 maxmtu 0' : 'minmtu 68 maxmtu 65535';
  let s = ` promiscuity ${promisc}  allmulti ${allmulti} ${mtus} `;
  const queues = d.kind === 'veth' ? 2 : 1;
  const lines: string[] = [];
  if (d instanceof VethDevice) lines.push('    veth ');
  else if (d instanceof BridgeDevice) lines.push(bridgeDetails(d, now).slice(0, -tail(1, 524280).length));
  else if (d instanceof VxlanDevice) {
    const c = d.cfg;
    let v = `    vxlan id ${c.vni} `;
    if (c.local) v += `local ${formatIpv4(c.local)} `;
    if (c.lower) v += `dev ${c.lower.name} `;
    v += `srcport 0 0 dstport ${c.dstport} `;
    if (!c.learning) v += 'nolearning ';
    v += `ttl ${c.ttl ? c.ttl : 'auto'} ageing ${c.ageing} ${c.udpcsum ? 'udpcsum' : 'noudpcsum'} noudp6zerocsumtx noudp6zerocsumrx `;
    lines.push(v);
  } else if (d.kind === 'dummy') lines.push('    dummy ');
  if (d.brport) lines.push(slaveDetails(d, now));
  const tso = d instanceof VxlanDevice && !d.cfg.lower ? 65536 : d.kind === 'nic' ? 65536 : 524280;
  if (lines.length === 0) return s + tail(queues, tso);
  lines[lines.length - 1] += tail(queues, tso);
  s += '\n' + lines.join('\n');
  return s;
}

export interface IpLinkOptions {
  details?: boolean;
  dev?: string;
}

/** `ip link show` / `ip -d link show`, one block per device in ifindex order. */
export function ipLink(ns: Netns, o: IpLinkOptions = {}): string {
  const out: string[] = [];
  for (const d of ns.devicesInOrder()) {
    if (o.dev !== undefined && d.name !== o.dev) continue;
    out.push(linkHeader(d, true));
    out.push(linkLine(d) + (o.details ? details(d, ns.clock.now) : ''));
  }
  return out.join('\n') + '\n';
}
