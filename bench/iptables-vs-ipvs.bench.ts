// The per-packet half of `kubewire bench`, as tinybench tasks on the same node harness
// (src/bench/node.ts: kube-proxy programs one node, frames enter the root namespace's receive
// path on the client pod's veth and walk every hook):
// - a new connection (TCP SYN) to the Service LAST in KUBE-SERVICES, iptables vs ipvs mode;
// - an established packet (an ACK after the handshake: SYN, the endpoint's SYN-ACK, ACK), both modes;
// - the conntrack lookup alone (ConntrackTable.find) at 1k and 100k entries.
// Counts (rules evaluated, IPVS lookups) are printed beside the time; `kubewire bench` has the
// full sweep. Sizes: KW_BENCH_SIZES (default 1000,10000).
import { Bench } from 'tinybench';
import { BenchNode, type Mode } from '../src/bench/node.js';
import { clusterIP, servicePort, syntheticCluster } from '../src/bench/synth.js';
import { ConntrackTable } from '../src/netfilter/conntrack/table.js';
import type { Tuple } from '../src/netfilter/conntrack/entry.js';
import type { PacketBuffer } from '../src/wire/packet-buffer.js';

const BATCH = 200;
const nowNs = (): number => Number(process.hrtime.bigint());
let sink = 0;

function nodeFor(mode: Mode, n: number): BenchNode {
  const node = new BenchNode(mode, nowNs);
  const c = syntheticCluster({ services: n, endpointsPerService: 2, portsPerService: 1 });
  node.sync(c.services, c.slices);
  return node;
}

export async function run(): Promise<void> {
  const sizes = (process.env.KW_BENCH_SIZES ?? '1000,10000').split(',').map(Number);
  const rows: Record<string, string | number>[] = [];
  for (const n of sizes) {
    for (const mode of ['iptables', 'ipvs'] as const) {
      const node = nodeFor(mode, n);
      const bench = new Bench({ name: `${mode} ${n}`, time: 800, warmupTime: 200 });
      let sport = 1024;
      const last = clusterIP(n - 1);
      let batch: PacketBuffer[] = [];
      const counts = new Map<string, { rules: number; lookups: number; packets: number }>();
      const counted = (name: string, fn: () => void) => () => {
        const r0 = node.nf.totalEvaluated;
        const l0 = node.ipvsLookups;
        fn();
        const c = counts.get(name) ?? { rules: 0, lookups: 0, packets: 0 };
        c.rules += node.nf.totalEvaluated - r0;
        c.lookups += node.ipvsLookups - l0;
        c.packets += BATCH;
        counts.set(name, c);
      };
      const first = `${mode}, ${n} Services: new connection (SYN) to the last Service`;
      bench.add(first, counted(first, () => {
        for (const p of batch) node.receiveFromClient(p);
      }), {
        beforeEach: () => {
          batch = Array.from({ length: BATCH }, () => node.fromClient(sport >= 65000 ? (sport = 1024) : ++sport, last, servicePort(0), 0x02));
        },
      });
      // established: SYN, the endpoint's SYN-ACK, then ACKs on those tuples
      const tuples: { sport: number; ep: number; epPort: number }[] = [];
      for (let k = 0; k < BATCH; k++) {
        const sp = 40000 + k;
        node.receiveFromClient(node.fromClient(sp, last, servicePort(0), 0x02));
        tuples.push({ sport: node.out.sport, ep: node.out.dst, epPort: node.out.dport });
        node.receiveFromUnderlay(node.fromEndpoint(node.out.dst, node.out.dport, node.out.src, node.out.sport, 0x12));
        node.receiveFromClient(node.fromClient(sp, last, servicePort(0), 0x10));
      }
      const est = `${mode}, ${n} Services: established packet (ACK)`;
      let acks: PacketBuffer[] = [];
      bench.add(est, counted(est, () => {
        for (const p of acks) node.receiveFromClient(p);
      }), {
        beforeEach: () => {
          acks = tuples.map((t) => node.fromClient(t.sport, last, servicePort(0), 0x10));
        },
      });
      await bench.run();
      for (const t of bench.tasks) {
        const r = t.result;
        if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`);
        const c = counts.get(t.name)!;
        rows.push({ task: t.name, 'ns/packet (median)': ((r.latency.p50! * 1e6) / BATCH).toFixed(0), 'ns/packet (mean)': ((r.latency.mean * 1e6) / BATCH).toFixed(0), 'rules/packet': (c.rules / c.packets).toFixed(1), 'IPVS lookups/packet': (c.lookups / c.packets).toFixed(1) });
      }
    }
  }
  // conntrack lookup alone: a hit among E confirmed entries (string-keyed Map in the model)
  const bench = new Bench({ name: 'conntrack', time: 600, warmupTime: 100 });
  for (const entries of [1000, 100_000]) {
    const ct = new ConntrackTable({ max: entries * 2 });
    const tuples: Tuple[] = [];
    for (let i = 0; i < entries; i++) {
      const t: Tuple = { src: 0x0a200002, dst: 0x0a600001 + (i >>> 10), proto: 6, sport: 1024 + (i & 1023), dport: 80 };
      const e = ct.create(t, 0)!;
      e.timeout = 3600e9;
      ct.confirm(e, 0);
      tuples.push(t);
    }
    bench.add(`conntrack find (hit), ${entries} entries`, () => {
      for (let k = 0; k < 1000; k++) sink += ct.find(tuples[(k * 7919) % entries]!, 1)?.reply ? 1 : 0;
    });
  }
  await bench.run();
  for (const t of bench.tasks) rows.push({ task: t.name, 'ns/packet (median)': ((t.result as { latency: { p50: number } }).latency.p50 * 1e3).toFixed(0), 'ns/packet (mean)': ((t.result as { latency: { mean: number } }).latency.mean * 1e3).toFixed(0), 'rules/packet': '-', 'IPVS lookups/packet': '-' });
  console.table(rows);
  if (sink === 0.5) console.log(sink);
}
