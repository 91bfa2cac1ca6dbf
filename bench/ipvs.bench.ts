// IPVS lookup cost as the number of virtual services grows (10 .. 50,000), per packet:
// - first packet: service lookup + scheduling (rr) + connection entry creation (ip_vs_in on a SYN);
// - established: connection-table lookup + TCP state update (ip_vs_in on an ACK of a known entry);
// - first packet through the hook with bytes (decode, DNAT, checksums) at the largest size.
// Timers (entry expiry, the 2 s rate estimator) run between batches, outside the timing, as
// the kernel runs them in timer context. Counters beside the time: entries in the table, and the chain length the kernel's 256-bucket
// service table (IP_VS_SVC_TAB_BITS 8) would walk, which the model's Map lookup does not.
import { Bench } from 'tinybench';
import { hookOps, IP_VS_CONN_F_MASQ, IPPROTO_TCP, Ipvs, ipvsReset, type IpvsPacketInfo } from '../src/ipvs/index.js';
import type { NfHookState, NfNetns } from '../src/netfilter/hooks.js';
import type { Ipv4Addr } from '../src/wire/ipv4-address.js';
import { buildTcp } from '../src/wire/build.js';

const BATCH = 1000;
const SIZES = [10, 100, 1000, 10000, 50000];
let sink = 0;

function vip(i: number): Ipv4Addr {
  return ((10 << 24) | (43 << 16) | ((i >>> 8) << 8) | (i & 255)) >>> 0 as Ipv4Addr;
}

function build(n: number): { ipvs: Ipvs; clock: { t: number } } {
  const clock = { t: 0 };
  const ipvs = new Ipvs({ clock: () => clock.t });
  for (let i = 0; i < n; i++) {
    const svc = ipvs.addService({ protocol: IPPROTO_TCP, addr: vip(i), port: 80, scheduler: 'rr' });
    ipvs.addDest(svc, { addr: (0x0a2a0000 + 2 * i) as Ipv4Addr, port: 8080, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
    ipvs.addDest(svc, { addr: (0x0a2a0001 + 2 * i) as Ipv4Addr, port: 8080, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
  }
  return { ipvs, clock };
}

function pkt(saddr: number, sport: number, daddr: Ipv4Addr, flags: number): IpvsPacketInfo {
  return { protocol: IPPROTO_TCP, saddr: saddr as Ipv4Addr, sport, daddr, dport: 80, tcpFlags: flags, length: 60, mark: 0, laterFragment: false, ctConfirmed: false };
}

export async function run(): Promise<void> {
  const bench = new Bench({ name: 'ipvs', time: 700, warmupTime: 150 });
  const counters = new Map<string, { services: number; entries: number; chain: number }>();
  for (const n of SIZES) {
    const { ipvs, clock } = build(n);
    // Targets spread over all services, precomputed so the loop measures IPVS only.
    const targets = Array.from({ length: BATCH }, (_, i) => vip((i * 7919) % n));
    let port = 1024;
    let client = 0x0a2a8000;
    const first = `first packet (SYN: lookup + rr + new entry), ${n} services`;
    bench.add(first, () => {
      for (let i = 0; i < BATCH; i++) {
        if (++port > 65535) { port = 1024; client++; }
        const d = ipvs.inPacket(pkt(client, port, targets[i]!, 0x02), 'LOCAL_IN');
        sink += d.kind === 'xmit' ? 1 : 0;
      }
    }, { afterEach: () => { clock.t += 61e9; ipvs.runTimers(); } });
    counters.set(first, { services: n, entries: BATCH, chain: n / 256 });

    // 1000 established entries, one ACK each per batch.
    const est = build(n);
    const estClient = 0x0a2b0000;
    for (let i = 0; i < BATCH; i++) {
      est.ipvs.inPacket(pkt(estClient, 2000 + i, targets[i]!, 0x02), 'LOCAL_IN');
      est.ipvs.inPacket(pkt(estClient, 2000 + i, targets[i]!, 0x10), 'LOCAL_IN');
    }
    const estName = `established (ACK: entry lookup + state), ${n} services`;
    bench.add(estName, () => {
      for (let i = 0; i < BATCH; i++) {
        const d = est.ipvs.inPacket(pkt(estClient, 2000 + i, targets[i]!, 0x10), 'LOCAL_IN');
        sink += d.kind === 'xmit' ? 1 : 0;
      }
    });
    counters.set(estName, { services: n, entries: est.ipvs.conns.count, chain: n / 256 });
  }

  // Through the hook with real bytes, at the largest size.
  {
    const n = SIZES[SIZES.length - 1]!;
    const { ipvs, clock } = build(n);
    const fn = hookOps(ipvs).find((o) => o.hook === 'INPUT' && o.priority === 99)!.fn;
    const netns: NfNetns = {
      node: 'bench', netns: 'root', isLocalAddress: () => false, addressType: () => 'UNICAST', selectSourceAddress: () => undefined,
      sendLocal: () => undefined, now: () => clock.t, randomU32: () => 0,
    };
    const state: NfHookState = { hook: 'INPUT', inDev: 'eth0', outDev: null, netns };
    const packets = Array.from({ length: BATCH }, (_, i) => buildTcp(
      { src: 0x0a2c0001 as Ipv4Addr, dst: vip((i * 7919) % n), ttl: 64 },
      { srcPort: 1024 + i, dstPort: 80, seq: 1, ack: 0, flags: 0x02, window: 64240, urgent: 0, options: [] }));
    const originals = packets.map((p) => p.buf.slice(p.head, p.end));
    const name = `first packet through the INPUT hook (decode + DNAT + checksums), ${n} services`;
    bench.add(name, () => {
      for (let i = 0; i < BATCH; i++) sink += fn(packets[i]!, state);
    }, {
      afterEach: () => {
        clock.t += 61e9;
        ipvs.runTimers();
        packets.forEach((p, i) => {
          p.buf.set(originals[i]!, p.head);
          ipvsReset(p);
        });
      },
    });
    counters.set(name, { services: n, entries: BATCH, chain: n / 256 });
  }

  await bench.run();
  const rows = bench.tasks.map((t) => {
    const r = t.result;
    if (r.state !== 'completed') return { task: t.name, state: r.state };
    const ns = (r.period * 1e6) / BATCH;
    const c = counters.get(t.name)!;
    return {
      task: t.name,
      'ns/packet': ns.toFixed(1),
      'packets/s': Math.round(1e9 / ns).toLocaleString('en-US'),
      'rme %': r.latency.rme.toFixed(2),
      'entries in table': c.entries,
      'kernel svc chain (n/256)': c.chain.toFixed(1),
      samples: r.latency.samplesCount,
    };
  });
  console.table(rows);
  if (sink === 0.5) console.log(sink);
}
