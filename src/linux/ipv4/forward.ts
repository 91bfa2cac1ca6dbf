/**
 * ip_forward (net/ipv4/ip_forward.c): only PACKET_HOST frames; TTL <= 1 -> ICMP time
 * exceeded; too big with DF -> ICMP fragmentation needed (next-hop MTU); TTL - 1 with the
 * checksum patched; FORWARD hooks; then ip_output. ICMP redirects are not sent.
 */
import { NF_ACCEPT } from '../../netfilter/hooks.js';
import { tracePacketId, type PacketBuffer } from '../../wire/packet-buffer.js';
import type { Route } from '../fib.js';
import { runHooks } from '../hooks.js';
import type { NetDevice } from '../link/device.js';
import type { Netns } from '../netns.js';
import { icmpSend } from './icmp.js';
import { ipOutput } from './output.js';

export function ipForward(netns: Netns, inDev: NetDevice, r: Route, p: PacketBuffer, pktType: number, physIn: string | null = null): void {
  if (pktType !== 0) return;
  const b = p.buf;
  const ip = p.head;
  const ttl = b[ip + 8]!;
  if (ttl <= 1) {
    netns.trace?.record({ kind: 'linux.ttl', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: inDev.name, step: 'ip_forward', ttl, verdict: 'EXCEEDED', packet: tracePacketId(p) });
    icmpSend(netns, p, 11, 0, 0);
    return;
  }
  const out = r.dev!;
  const mtu = r.mtu || out.mtu;
  if (p.end - ip > mtu && b[ip + 6]! & 0x40) {
    icmpSend(netns, p, 3, 4, mtu);
    return;
  }
  // ip_decrease_ttl: incremental checksum update (RFC 1624) of the TTL/protocol word.
  let check = (b[ip + 10]! << 8) | b[ip + 11]!;
  check += 0x0100;
  check = (check & 0xffff) + (check >>> 16);
  b[ip + 10] = check >>> 8;
  b[ip + 11] = check & 255;
  b[ip + 8] = ttl - 1;
  netns.trace?.record({ kind: 'linux.ttl', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: inDev.name, step: 'ip_forward', ttl: ttl - 1, packet: tracePacketId(p) });
  const hooks = netns.hooks.FORWARD;
  if (hooks.length && runHooks(netns, hooks, 'FORWARD', p, inDev.name, out.name, physIn) !== NF_ACCEPT) return;
  ipOutput(netns, r, p, inDev, physIn);
}
