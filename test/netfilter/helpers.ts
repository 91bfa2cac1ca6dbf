// Test helpers for netfilter: a fake namespace (NfNetns) and IPv4 packet builders.
import { PacketBuffer } from '../../src/wire/packet-buffer.js';
import { parseIpv4, type Ipv4Addr, cidrContains, parseCidr } from '../../src/wire/ipv4-address.js';
import type { NfHook, NfHookState, NfNetns } from '../../src/netfilter/hooks.js';
import { fixChecksums, put16, put32 } from '../../src/netfilter/packet.js';
import { Random } from '../../src/sim/random.js';

export class FakeNetns implements NfNetns {
  node = 'node1';
  netns = 'root';
  time = 0;
  sent: PacketBuffer[] = [];
  /** Local addresses with their device and prefix. */
  addrs: { dev: string; addr: string; cidr: string }[] = [];
  private rng: Random;
  constructor(seed = 1) {
    this.rng = new Random(seed);
  }
  isLocalAddress(a: Ipv4Addr): boolean {
    return this.addrs.some((x) => parseIpv4(x.addr) === a) || (a >>> 24) === 127;
  }
  addressType(a: Ipv4Addr): 'UNICAST' | 'LOCAL' | 'BROADCAST' | 'MULTICAST' {
    if (this.isLocalAddress(a)) return 'LOCAL';
    if (a >>> 28 === 14) return 'MULTICAST';
    if (a === 0xffffffff) return 'BROADCAST';
    return 'UNICAST';
  }
  selectSourceAddress(outDev: string, dst: Ipv4Addr): Ipv4Addr | undefined {
    const on = this.addrs.filter((x) => x.dev === outDev);
    const same = on.find((x) => cidrContains(parseCidr(x.cidr), dst));
    const pick = same ?? on[0];
    return pick ? parseIpv4(pick.addr) : undefined;
  }
  sendLocal(p: PacketBuffer): void {
    this.sent.push(p);
  }
  now(): number {
    return this.time;
  }
  randomU32(): number {
    return this.rng.u32();
  }
}

export function hookState(ns: NfNetns, hook: NfHook, inDev: string | null, outDev: string | null, extra: Partial<NfHookState> = {}): NfHookState {
  return { hook, inDev, outDev, netns: ns, ...extra };
}

export interface PktOpts {
  src: string;
  dst: string;
  proto?: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
  flags?: number;
  seq?: number;
  ack?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  payload?: number;
  ttl?: number;
  id?: number;
  /** ICMP error body: the bytes of the quoted packet. */
  quote?: Uint8Array;
}

export const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04, PSH = 0x08;

/** An IPv4 packet with correct checksums; `network`/`transport` set, no link header. */
export function packet(o: PktOpts): PacketBuffer {
  const proto = o.proto ?? 'tcp';
  const l4len = proto === 'tcp' ? 20 : 8;
  const body = o.quote ? o.quote.length : (o.payload ?? 0);
  const total = 20 + l4len + body;
  const p = PacketBuffer.alloc(total);
  const b = p.buf;
  const n = p.head;
  p.network = n;
  p.transport = n + 20;
  b[n] = 0x45;
  put16(b, n + 2, total);
  put16(b, n + 4, o.id ?? 1);
  put16(b, n + 6, 0x4000);
  b[n + 8] = o.ttl ?? 64;
  b[n + 9] = proto === 'tcp' ? 6 : proto === 'udp' ? 17 : 1;
  put32(b, n + 12, parseIpv4(o.src));
  put32(b, n + 16, parseIpv4(o.dst));
  const t = n + 20;
  if (proto === 'tcp') {
    put16(b, t, o.sport ?? 40000);
    put16(b, t + 2, o.dport ?? 80);
    put32(b, t + 4, o.seq ?? 1000);
    put32(b, t + 8, o.ack ?? 0);
    b[t + 12] = 0x50;
    b[t + 13] = o.flags ?? SYN;
    put16(b, t + 14, 64240);
  } else if (proto === 'udp') {
    put16(b, t, o.sport ?? 40000);
    put16(b, t + 2, o.dport ?? 53);
    put16(b, t + 4, 8 + body);
  } else {
    b[t] = o.icmpType ?? 8;
    b[t + 1] = o.icmpCode ?? 0;
    put16(b, t + 4, o.icmpId ?? 77);
    put16(b, t + 6, 1);
    if (o.quote) b.set(o.quote, t + 8);
  }
  fixChecksums(p, false);
  return p;
}

/** The IPv4 bytes of a packet (from the network header). */
export function ipBytes(p: PacketBuffer): Uint8Array {
  return p.buf.slice(p.network, p.end);
}

import type { Netfilter } from '../../src/netfilter/netfilter.js';
import { NF_ACCEPT } from '../../src/netfilter/hooks.js';

/** Local delivery: PREROUTING then INPUT; answers the first non-ACCEPT verdict or ACCEPT. */
export function deliver(nf: Netfilter, p: PacketBuffer, inDev = 'eth0', extra: Partial<NfHookState> = {}): number {
  const ns = nf.netns;
  const v = nf.runHook('PREROUTING', p, hookState(ns, 'PREROUTING', inDev, null, extra));
  if (v !== NF_ACCEPT) return v;
  return nf.runHook('INPUT', p, hookState(ns, 'INPUT', inDev, null, extra));
}

/** Forwarding: PREROUTING, FORWARD, POSTROUTING. */
export function forward(nf: Netfilter, p: PacketBuffer, inDev: string, outDev: string, extra: Partial<NfHookState> = {}): number {
  const ns = nf.netns;
  for (const [hook, i, o] of [['PREROUTING', inDev, null], ['FORWARD', inDev, outDev], ['POSTROUTING', null, outDev]] as const) {
    const v = nf.runHook(hook, p, hookState(ns, hook, i, o, extra));
    if (v !== NF_ACCEPT) return v;
  }
  return NF_ACCEPT;
}

/** Locally generated: OUTPUT then POSTROUTING. */
export function send(nf: Netfilter, p: PacketBuffer, outDev: string): number {
  const ns = nf.netns;
  const v = nf.runHook('OUTPUT', p, hookState(ns, 'OUTPUT', null, outDev));
  if (v !== NF_ACCEPT) return v;
  return nf.runHook('POSTROUTING', p, hookState(ns, 'POSTROUTING', null, outDev));
}
