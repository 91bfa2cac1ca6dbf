/**
 * ARP (net/ipv4/arp.c): arp_rcv/arp_process (replies for local addresses subject to
 * arp_ignore, proxy ARP for addresses routed out another device when proxy_arp and
 * forwarding are on, with the proxy_delay for broadcast requests, neighbour updates) and
 * arp_solicit (source address per arp_announce; broadcast first, unicast probes in PROBE).
 * Frames are built as Linux sends them: 42 bytes, not padded.
 */
import { formatIpv4, readIpv4, writeIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import { MAC_BROADCAST, readMac, writeMac, type MacAddr } from '../wire/mac-address.js';
import { PacketBuffer, tracePacketId } from '../wire/packet-buffer.js';
import { inAddrMatches } from './addr.js';
import { SCOPE_NUM } from './fib.js';
import type { NetDevice } from './link/device.js';
import { NUD_REACHABLE, NUD_STALE, type Neighbour } from './neigh.js';
import type { Netns } from './netns.js';

/** Builds and transmits one ARP packet on `dev`. */
export function arpSend(netns: Netns, dev: NetDevice, op: 1 | 2, ethDst: MacAddr, sha: MacAddr, sip: Ipv4Addr, tha: MacAddr, tip: Ipv4Addr): void {
  const p = PacketBuffer.alloc(42);
  const o = p.head;
  const b = p.buf;
  writeMac(b, o, ethDst);
  writeMac(b, o + 6, dev.mac);
  b[o + 12] = 0x08;
  b[o + 13] = 0x06;
  const a = o + 14;
  b[a] = 0;
  b[a + 1] = 1;
  b[a + 2] = 0x08;
  b[a + 3] = 0;
  b[a + 4] = 6;
  b[a + 5] = 4;
  b[a + 6] = 0;
  b[a + 7] = op;
  writeMac(b, a + 8, sha);
  writeIpv4(b, a + 14, sip);
  writeMac(b, a + 18, tha);
  writeIpv4(b, a + 24, tip);
  p.mac = o;
  netns.trace?.record({ kind: 'linux.arp', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: dev.name, step: 'arp_send', op: op === 1 ? 'request' : 'reply', sip: formatIpv4(sip), tip: formatIpv4(tip), packet: tracePacketId(p) });
  dev.queueXmit(p);
}

/** arp_solicit. */
export function arpSolicit(netns: Netns, n: Neighbour, trigger: PacketBuffer | undefined, dstHw: MacAddr | null): void {
  const dev = n.dev;
  const announce = Math.max(netns.sysctl_.all.arp_announce, dev.conf.arp_announce);
  let saddr = 0 as Ipv4Addr;
  if (announce < 2 && trigger !== undefined) {
    const s = readIpv4(trigger.buf, trigger.head + 12);
    if (netns.isLocalAddress(s)) {
      if (announce === 0) saddr = s;
      else if (dev.inAddrs.some((a) => inAddrMatches(a, n.ip) && inAddrMatches(a, s))) saddr = s;
    }
  }
  if (!saddr) saddr = netns.inetSelectAddr(dev, n.ip, SCOPE_NUM.link);
  arpSend(netns, dev, 1, dstHw ?? MAC_BROADCAST, dev.mac, saddr, 0 as MacAddr, n.ip);
}

/** arp_rcv + arp_process: `p.head` at the ARP header, `p.mac` at the Ethernet header. */
export function arpRcv(netns: Netns, dev: NetDevice, p: PacketBuffer, pktType: number): void {
  if (dev.noarp || pktType === 3) return;
  const b = p.buf;
  const a = p.head;
  if (p.end - a < 28) return;
  if (b[a] !== 0 || b[a + 1] !== 1 || b[a + 2] !== 0x08 || b[a + 3] !== 0 || b[a + 4] !== 6 || b[a + 5] !== 4) return;
  const op = (b[a + 6]! << 8) | b[a + 7]!;
  if (op !== 1 && op !== 2) return;
  const sha = readMac(b, a + 8);
  const sip = readIpv4(b, a + 14);
  const tip = readIpv4(b, a + 24);
  if (tip >>> 28 === 0xe || sip >>> 28 === 0xe) return;
  netns.trace?.record({ kind: 'linux.arp', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: dev.name, step: 'arp_rcv', op: op === 1 ? 'request' : 'reply', sip: formatIpv4(sip), tip: formatIpv4(tip), packet: tracePacketId(p) });
  const now = netns.clock.now;
  if (op === 1 && sip !== 0) {
    const r = netns.fibLookup(tip);
    if (r && r.type === 'local') {
      if (!arpIgnore(netns, dev, sip, tip)) {
        eventNs(netns, dev, sip, sha);
        arpSend(netns, dev, 2, sha, dev.mac, tip, sha, sip);
      }
      return;
    }
    if (r && r.type === 'unicast' && dev.conf.forwarding && r.dev !== dev && (netns.sysctl_.all.proxy_arp || dev.conf.proxy_arp)) {
      eventNs(netns, dev, sip, sha);
      const delay = dev.conf.proxy_delay;
      if (pktType === 0 || delay === 0) arpSend(netns, dev, 2, sha, dev.mac, tip, sha, sip);
      else {
        // pneigh_enqueue: a random delay below proxy_delay (USER_HZ ticks of 10 ms).
        const ns = netns.rng.int(delay) * 10_000_000;
        netns.clock.schedule(ns, () => arpSend(netns, dev, 2, sha, dev.mac, tip, sha, sip));
      }
      return;
    }
  } else if (op === 1 && sip === 0) {
    // Duplicate address detection probe: answer if the target is ours.
    const r = netns.fibLookup(tip);
    if (r && r.type === 'local' && !arpIgnore(netns, dev, sip, tip)) arpSend(netns, dev, 2, sha, dev.mac, tip, sha, sip);
    return;
  }
  const n = netns.neigh.lookup(dev, sip);
  if (n) {
    let state = op === 2 ? NUD_REACHABLE : NUD_STALE;
    if (op !== 2 || pktType !== 0) state = NUD_STALE;
    // neigh locktime (1 s): a newer address only overrides an entry not updated in the last
    // second, unless this is a gratuitous ARP (sender = target, a unicast address).
    const isGarp = tip === sip && netns.addressType(sip) === 'UNICAST';
    const override = now - n.updated >= 1e9 || isGarp;
    netns.neigh.update(n, sha, state, override);
  }
}

/** neigh_event_ns: a request from `sip` creates or refreshes its entry as STALE. */
function eventNs(netns: Netns, dev: NetDevice, sip: Ipv4Addr, sha: MacAddr): void {
  let n = netns.neigh.lookup(dev, sip);
  if (!n) n = netns.neigh.create(dev, sip);
  netns.neigh.update(n, sha, NUD_STALE, true);
}

/** arp_ignore (max of all and the device): 0 any local address, 1 only on this device, 2 also same subnet as sender, 8 never. */
function arpIgnore(netns: Netns, dev: NetDevice, sip: Ipv4Addr, tip: Ipv4Addr): boolean {
  const mode = Math.max(netns.sysctl_.all.arp_ignore, dev.conf.arp_ignore);
  switch (mode) {
    case 0:
      return false;
    case 1:
      return !dev.inAddrs.some((a) => a.addr === tip);
    case 2:
      return !dev.inAddrs.some((a) => a.addr === tip && inAddrMatches(a, sip));
    case 8:
      return true;
    default:
      return false;
  }
}
