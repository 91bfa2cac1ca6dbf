// netfilter cost as kube-proxy iptables-mode rulesets grow (N ClusterIP services x 2 endpoints,
// generated as reference/kernel-costs.md §0 gen_kp.py does):
// - iptables-restore of the whole payload (parse + compile + link), and iptables-save;
// - the first packet of a new UDP flow to a target service placed FIRST or LAST in
//   KUBE-SERVICES, through PREROUTING (raw, conntrack, mangle, nat): rules evaluated and ns;
//   ns per KUBE-SERVICES rule = (last - first) / N, the kernel's anchor being 5-7 ns (legacy)
//   and 21-25 ns (iptables-nft);
// - an established packet (conntrack hit, stored NAT applied, no rule walk).
import { Bench } from 'tinybench';
import { createHash } from 'node:crypto';
import { Netfilter } from '../src/netfilter/netfilter.js';
import type { NfHookState, NfNetns } from '../src/netfilter/hooks.js';
import { PacketBuffer } from '../src/wire/packet-buffer.js';
import { fixChecksums, put16, put32 } from '../src/netfilter/packet.js';
import { Random } from '../src/sim/random.js';
import type { Ipv4Addr } from '../src/wire/ipv4-address.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** kube-proxy's chain hash: first 16 chars of base32(sha256(s)). */
function hash16(s: string): string {
  const d = createHash('sha256').update(s).digest();
  let bits = 0;
  let v = 0;
  let out = '';
  for (const byte of d) {
    v = (v << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += B32[(v >>> (bits - 5)) & 31];
      bits -= 5;
    }
    v &= 0xff;
    if (out.length >= 16) break;
  }
  return out;
}
if (hash16('ns1/svc1:p80tcp') !== 'XPGD46QRK7WJZT7O' || hash16('ns1/svc1:p80tcp10.180.0.1:80') !== 'SXIVWICOYRO3J4NJ') throw new Error('chain hash is wrong');

const ip = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;

/** The gen_kp.py payload: filter then nat, built-in jumps, large-cluster mode (no SVC->SEP comments). */
export function kubeProxyPayload(n: number, proto: 'tcp' | 'udp', target: 'first' | 'last' | 'none'): string {
  const f: string[] = ['*filter', ':KUBE-SERVICES - [0:0]', ':KUBE-EXTERNAL-SERVICES - [0:0]', ':KUBE-FORWARD - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-PROXY-FIREWALL - [0:0]'];
  f.push('-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL');
  f.push('-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS');
  f.push('-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES');
  f.push('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL');
  f.push('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
  f.push('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  f.push('-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  f.push('-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP');
  f.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT');
  f.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  f.push('COMMIT');
  const chains: string[] = [':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const rules: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000',
  ];
  const svc = (name: string, cip: number, eps: number[]): void => {
    const spn = `${name}:http`;
    const h = hash16(`${spn}${proto}`);
    const svcChain = `KUBE-SVC-${h}`;
    chains.push(`:${svcChain} - [0:0]`);
    rules.push(`-A KUBE-SERVICES -m comment --comment "${spn} cluster IP" -m ${proto} -p ${proto} -d ${ip(cip)} --dport 80 -j ${svcChain}`);
    rules.push(`-A ${svcChain} -m comment --comment "${spn} cluster IP" -m ${proto} -p ${proto} -d ${ip(cip)} --dport 80 ! -s 10.42.0.0/16 -j KUBE-MARK-MASQ`);
    eps.forEach((e, i) => {
      const sep = `KUBE-SEP-${hash16(`${spn}${proto}${ip(e)}:8080`)}`;
      chains.push(`:${sep} - [0:0]`);
      rules.push(`-A ${svcChain} ${i < eps.length - 1 ? `-m statistic --mode random --probability ${(1 / (eps.length - i)).toFixed(10)} ` : ''}-j ${sep}`);
      rules.push(`-A ${sep} -s ${ip(e)} -j KUBE-MARK-MASQ`, `-A ${sep} -m ${proto} -p ${proto} -j DNAT --to-destination ${ip(e)}:8080`);
    });
  };
  const tgt = (): void => svc('bench/target', 0x0a2bff01, [0x0a2aff02, 0x0a2aff03]);
  if (target === 'first') tgt();
  for (let i = 0; i < n; i++) svc(`bench/svc-${String(i).padStart(5, '0')}`, (0x0a2b0000 | ((1 + Math.floor(i / 250)) << 8) | (1 + (i % 250))) >>> 0, [0x0a2a0000 + 2 + 4 * i, 0x0a2a0000 + 3 + 4 * i]);
  if (target === 'last') tgt();
  rules.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  return [...f, '*nat', ...chains, ...rules, 'COMMIT', ''].join('\n');
}

class BenchNetns implements NfNetns {
  node = 'bench';
  netns = 'ks';
  t = 0;
  rng = new Random(1);
  isLocalAddress(a: Ipv4Addr): boolean {
    return a === 0x0a2ac801 || a === 0x0a2aff02 || a === 0x0a2aff03;
  }
  addressType(a: Ipv4Addr): 'LOCAL' | 'UNICAST' {
    return this.isLocalAddress(a) ? 'LOCAL' : 'UNICAST';
  }
  selectSourceAddress(): Ipv4Addr {
    return 0x0a2ac801 as Ipv4Addr;
  }
  sendLocal(): void {}
  now(): number {
    return this.t;
  }
  randomU32(): number {
    return this.rng.u32();
  }
}

function udpPacket(src: number, sport: number, dst: number): PacketBuffer {
  const p = PacketBuffer.alloc(20 + 8 + 64);
  const b = p.buf;
  const n = p.head;
  p.network = n;
  p.transport = n + 20;
  b[n] = 0x45;
  put16(b, n + 2, 92);
  b[n + 8] = 64;
  b[n + 9] = 17;
  put32(b, n + 12, src);
  put32(b, n + 16, dst);
  put16(b, n + 20, sport);
  put16(b, n + 22, 80);
  put16(b, n + 24, 72);
  fixChecksums(p, false);
  return p;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(): Promise<void> {
  const sizes = (process.env.NF_BENCH_SIZES ?? '1000,5000,10000').split(',').map(Number);
  console.log('### iptables-restore / iptables-save of a kube-proxy ruleset (N services x 2 endpoints, UDP)');
  console.log('| N | input lines | rules | restore s (3 runs) | median | µs/line | save s | save lines |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const n of sizes) {
    const text = kubeProxyPayload(n, 'udp', 'last');
    const lines = text.split('\n').length - 1;
    const runs: number[] = [];
    let nf: Netfilter | undefined;
    let rules = 0;
    for (let r = 0; r < 3; r++) {
      nf = new Netfilter(new BenchNetns());
      const t0 = process.hrtime.bigint();
      rules = nf.restore(text).rules;
      runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const t0 = process.hrtime.bigint();
    const saved = nf!.save();
    const saveS = Number(process.hrtime.bigint() - t0) / 1e9;
    const m = median(runs);
    console.log(`| ${n} | ${lines} | ${rules} | ${runs.map((x) => x.toFixed(3)).join(' / ')} | **${m.toFixed(3)}** | ${((m / lines) * 1e6).toFixed(2)} | ${saveS.toFixed(3)} | ${saved.split('\n').length - 1} |`);
  }

  const counts = new Map<string, { n: number; rules: number }>();
  const BATCH = 200;
  const perRule = new Map<number, { first?: string; last?: string }>();
  const nsPer = new Map<string, number>();
  const done: { name: string; perPkt: number }[] = [];
  for (const n of sizes) {
    // One Bench per size so only one size's rulesets are in memory at a time.
    const bench = new Bench({ name: `netfilter ${n}`, time: 700, warmupTime: 150 });
    for (const where of ['first', 'last'] as const) {
      const ns = new BenchNetns();
      const nf = new Netfilter(ns);
      nf.restore(kubeProxyPayload(n, 'udp', where));
      const state: NfHookState = { hook: 'PREROUTING', inDev: 'ks0', outDev: null, netns: ns };
      let sport = 1024;
      const name = `first packet, target ${where}, ${n} services`;
      // one probe to count the rules a first packet evaluates
      const probe = udpPacket(0x0a2ac802, 1, 0x0a2bff01);
      nf.runHook('PREROUTING', probe, state);
      counts.set(name, { n, rules: nf.evaluatedFor(probe) });
      const pkts = Array.from({ length: BATCH }, () => udpPacket(0x0a2ac802, 1024, 0x0a2bff01));
      bench.add(name, () => {
        for (const p of pkts) {
          // a new tuple per packet, never confirmed (as the kernel bench's drop at INPUT)
          if (++sport > 65535) sport = 1024;
          put16(p.buf, p.network + 20, sport);
          put32(p.buf, p.network + 16, 0x0a2bff01);
          put16(p.buf, p.network + 22, 80);
          p.ct = null;
          nf.runHook('PREROUTING', p, state);
        }
      });
      const e = perRule.get(n) ?? {};
      e[where] = name;
      perRule.set(n, e);
    }
    // established: one confirmed flow, then the same tuple again and again
    const ns = new BenchNetns();
    const nf = new Netfilter(ns);
    nf.restore(kubeProxyPayload(n, 'udp', 'last'));
    const pre: NfHookState = { hook: 'PREROUTING', inDev: 'ks0', outDev: null, netns: ns };
    const inp: NfHookState = { hook: 'INPUT', inDev: 'ks0', outDev: null, netns: ns };
    const first = udpPacket(0x0a2ac802, 4242, 0x0a2bff01);
    nf.runHook('PREROUTING', first, pre);
    nf.runHook('INPUT', first, inp);
    const estName = `established packet (conntrack hit + stored DNAT), ${n} services`;
    const estPkts = Array.from({ length: BATCH }, () => udpPacket(0x0a2ac802, 4242, 0x0a2bff01));
    const probe = udpPacket(0x0a2ac802, 4242, 0x0a2bff01);
    nf.runHook('PREROUTING', probe, pre);
    counts.set(estName, { n, rules: nf.evaluatedFor(probe) });
    bench.add(estName, () => {
      for (const p of estPkts) {
        put32(p.buf, p.network + 16, 0x0a2bff01);
        put16(p.buf, p.network + 22, 80);
        p.ct = null;
        nf.runHook('PREROUTING', p, pre);
      }
    });
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result as { latency?: { p50?: number; mean: number } } | undefined;
      const lat = r?.latency?.p50 ?? r?.latency?.mean;
      if (lat === undefined) continue;
      const perPkt = (lat * 1e6) / BATCH;
      nsPer.set(t.name, perPkt);
      done.push({ name: t.name, perPkt });
    }
  }
  console.log('\n### per-packet cost (PREROUTING: raw, conntrack, mangle, nat; median of samples)');
  console.log('| task | rules evaluated | ns/packet | ns/rule evaluated |');
  console.log('|---|---|---|---|');
  for (const { name, perPkt } of done) {
    const c = counts.get(name)!;
    console.log(`| ${name} | ${c.rules} | ${perPkt.toFixed(0)} | ${c.rules ? (perPkt / c.rules).toFixed(1) : '-'} |`);
  }
  console.log('\n| N | ns per KUBE-SERVICES rule skipped ((last - first) / N) |');
  console.log('|---|---|');
  for (const [n, e] of perRule) {
    const a = nsPer.get(e.first!);
    const b = nsPer.get(e.last!);
    if (a !== undefined && b !== undefined) console.log(`| ${n} | ${((b - a) / n).toFixed(1)} |`);
  }
}
