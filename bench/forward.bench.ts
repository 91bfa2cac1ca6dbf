// Forwarding rate of an established UDP flow through the Linux model: pod -> veth -> cni0 ->
// veth -> pod on one node, and pod -> cni0 -> flannel.1 (VXLAN) -> eth0 -> segment -> eth0 ->
// flannel.1 -> cni0 -> pod across two nodes; with capture off, and with every interface of
// every namespace captured into a pcapng writer (bytes counted, then dropped). Neighbours
// are resolved before timing, so every packet takes the established path. Each sample
// sends BATCH packets and runs the event queue dry.
import { Bench } from 'tinybench';
import { buildUdp } from '../src/wire/build.js';
import { parseIpv4 } from '../src/wire/ipv4-address.js';
import type { PacketBuffer } from '../src/wire/packet-buffer.js';
import { PcapngWriter } from '../src/pcap/pcapng-writer.js';
import { captureNetns } from '../src/linux/capture.js';
import type { Netns } from '../src/linux/netns.js';
import { flannelNode, NODE_A, NODE_B, World } from '../test/linux/world.js';

const BATCH = 1000;

interface Path {
  world: World;
  src: Netns;
  dst: Netns;
  template: PacketBuffer;
  delivered: { n: number };
  events: number;
  /** CPU time (user + system, µs) and packets sent while timed: a rate that a busy machine distorts less than wall time. */
  cpuUs: number;
  sent: number;
}

function sameNode(): Path {
  const w = new World();
  w.env.trace = null;
  const seg = w.segment('u');
  // Node a with its pod, plus a second pod on the same bridge.
  flannelNode(w, seg, NODE_A, [NODE_A]);
  w.netns('a-pod2', 'a');
  w.ip('a', 'link add veth9 type veth peer name eth0 netns a-pod2');
  w.ip('a', 'link set veth9 mtu 1450');
  w.ip('a', 'link set veth9 master cni0');
  w.ip('a', 'link set veth9 up');
  w.ip('a-pod2', 'link set eth0 mtu 1450');
  w.ip('a-pod2', 'link set eth0 up');
  w.ip('a-pod2', 'addr add 10.42.0.3/24 brd + dev eth0');
  return finish(w, 'a-pod', 'a-pod2', '10.42.0.2', '10.42.0.3');
}

function crossNode(): Path {
  const w = new World();
  w.env.trace = null;
  const seg = w.segment('u');
  flannelNode(w, seg, NODE_A, [NODE_A, NODE_B]);
  flannelNode(w, seg, NODE_B, [NODE_A, NODE_B]);
  return finish(w, 'a-pod', 'b-pod', '10.42.0.2', '10.42.1.2');
}

function finish(w: World, from: string, to: string, src: string, dst: string): Path {
  const delivered = { n: 0 };
  const d = w.ns.get(to)!;
  d.registerProtocol(17, { handler: () => (delivered.n++, true) });
  const template = buildUdp({ src: parseIpv4(src), dst: parseIpv4(dst), dontFragment: true, ident: 1 }, { srcPort: 40000, dstPort: 5001 }, new Uint8Array(18));
  const path: Path = { world: w, src: w.ns.get(from)!, dst: d, template, delivered, events: 0, cpuUs: 0, sent: 0 };
  // Warm up: resolve every neighbour on the way, both directions.
  path.src.ipOutput(template.clone());
  w.run(1e9);
  if (delivered.n !== 1) throw new Error(`warm-up packet not delivered on ${from} -> ${to}`);
  return path;
}

function send(p: Path): void {
  const q = p.world.clock;
  const before = q.executed;
  const cpu = process.cpuUsage();
  for (let i = 0; i < BATCH; i++) p.src.ipOutput(p.template.clone());
  q.run();
  const used = process.cpuUsage(cpu);
  p.cpuUs += used.user + used.system;
  p.sent += BATCH;
  p.events = (q.executed - before) / BATCH;
}

function captureAll(p: Path): { bytes: number } {
  const count = { bytes: 0 };
  const writer = new PcapngWriter({ write: (c) => void (count.bytes += c.length) });
  for (const ns of p.world.ns.values()) captureNetns(ns, writer);
  return count;
}

export async function run(): Promise<void> {
  const same = sameNode();
  const cross = crossNode();
  const sameCap = sameNode();
  const crossCap = crossNode();
  const capSame = captureAll(sameCap);
  const capCross = captureAll(crossCap);
  const bench = new Bench({ time: 1000, warmup: true });
  bench
    .add('same node, capture off (pod -> cni0 -> pod)', () => send(same))
    .add('across nodes, capture off (pod -> flannel.1 -> eth0 -> pod)', () => send(cross))
    .add('same node, every interface captured', () => send(sameCap))
    .add('across nodes, every interface captured', () => send(crossCap));
  await bench.run();
  const paths = [same, cross, sameCap, crossCap];
  const kernel = [113_000, 49_000, 113_000, 49_000];
  const rows = bench.tasks.map((t, i) => {
    const r = t.result;
    const mean = r.state === 'completed' ? r.latency.mean : NaN; // ms per BATCH
    const nsPerPkt = (mean * 1e6) / BATCH;
    const pps = 1e9 / nsPerPkt;
    const p = paths[i]!;
    const cpuNs = (p.cpuUs * 1000) / p.sent;
    return {
      task: t.name,
      'ns/packet': nsPerPkt.toFixed(0),
      'packets/s': Math.round(pps).toLocaleString('en-US'),
      'x kernel': (pps / kernel[i]!).toFixed(1),
      'cpu ns/packet': cpuNs.toFixed(0),
      'x kernel (cpu)': (1e9 / cpuNs / kernel[i]!).toFixed(1),
      'events/packet': p.events.toFixed(1),
    };
  });
  console.table(rows);
  const delivered = paths.map((p) => p.delivered.n);
  console.log(`delivered: ${delivered.join(', ')}; captured bytes: same ${capSame.bytes}, cross ${capCross.bytes}`);
}
