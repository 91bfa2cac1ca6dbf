// Forwarding rate of an established UDP flow THROUGH A ClusterIP, built by the real agents:
// scenarios/two-node-flannel.yaml brought up by the scenario runtime (kube-proxy, flanneld,
// CNI, the scheduler), then pod default/client on node-a -> Service echo 10.43.x.y:5353/UDP
// -> the echo pod on node-b, i.e. client eth0 -> veth -> node-a (raw, conntrack, mangle, nat
// PREROUTING: DNAT by KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP in iptables mode, IPVS in ipvs
// mode, for the first packet only) -> filter FORWARD (KUBE-FORWARD, flannel's rules) ->
// flannel.1 VXLAN -> eth0 -> underlay -> node-b eth0 -> flannel.1 -> cni0 -> veth -> pod.
// The flow's first packet picks the endpoint (new source ports until it is node-b's pod);
// every timed packet is a conntrack hit. The destination pod counts the datagrams at its IP
// layer (its echo app does not answer, so the flow is one-way as in kernel-costs.md §3's
// 49k pps "k8s" row). With and without a pcapng of every interface of every namespace.
import { Bench } from 'tinybench';
import { buildUdp } from '../src/wire/build.js';
import { formatIpv4, parseIpv4 } from '../src/wire/ipv4-address.js';
import type { PacketBuffer } from '../src/wire/packet-buffer.js';
import { PcapngWriter } from '../src/pcap/pcapng-writer.js';
import { captureNetns } from '../src/linux/capture.js';
import type { Netns } from '../src/linux/netns.js';
import { loadScenarioFile } from '../src/scenario/load.js';
import { startRuntime } from '../src/scenario/runtime.js';
import type { World } from '../src/k8s/cluster/world.js';

const BATCH = 1000;
/** kernel-costs.md §3 (b) "k8s": pod -> cni0 -> flannel.1 VXLAN -> underlay -> node B -> pod. */
const KERNEL_PPS = 49_000;
const SCENARIO = new URL('../scenarios/two-node-flannel.yaml', import.meta.url).pathname;

interface Path {
  name: string;
  world: World;
  src: Netns;
  template: PacketBuffer;
  delivered: { n: number };
  events: number;
  cpuUs: number;
  sent: number;
  captured: { bytes: number } | null;
  /** The endpoint the flow was DNATed to and the rules walked by its first packet on node-a. */
  endpoint: string;
  firstPacketRules: number;
}

function build(mode: 'iptables' | 'ipvs', capture: boolean): Path {
  const rt = startRuntime(loadScenarioFile(SCENARIO, [`kubeProxy.mode=${mode}`]));
  const w = rt.world;
  w.trace = null;
  const client = [...w.pods.values()].find((p) => p.pod.metadata.name === 'client')!;
  const target = [...w.pods.values()].find((p) => p.pod.metadata.labels?.app === 'echo' && p.node.name !== client.node.name);
  if (!target) throw new Error('no echo pod on another node than the client');
  const svc = rt.state.services.find((s) => s.metadata.name === 'echo')!;
  const vip = parseIpv4(svc.spec.clusterIP!);
  const port = svc.spec.ports!.find((p) => p.protocol === 'UDP')!.port;
  const delivered = { n: 0 };
  target.netns.registerProtocol(17, { handler: () => (delivered.n++, true) });
  const src = parseIpv4(client.pod.status!.podIP!);
  const nodeNf = w.iptables.get(client.node.root)!.nf;
  // The flow's first packet: new source ports until the DNAT picks the pod on the other node.
  let template: PacketBuffer | null = null;
  let firstPacketRules = 0;
  for (let sport = 40000; sport < 40100 && template === null; sport++) {
    const t = buildUdp({ src, dst: vip, dontFragment: true, ident: 1 }, { srcPort: sport, dstPort: port }, new Uint8Array(18));
    const before = nodeNf.totalEvaluated;
    client.netns.ipOutput(t.clone());
    w.run(1e9);
    if (delivered.n === 1) {
      template = t;
      firstPacketRules = nodeNf.totalEvaluated - before;
    }
  }
  if (template === null) throw new Error(`${mode}: no flow reached ${target.pod.metadata.name}`);
  let captured: { bytes: number } | null = null;
  if (capture) {
    captured = { bytes: 0 };
    const sink = captured;
    const writer = new PcapngWriter({ write: (c) => void (sink.bytes += c.length) });
    for (const ns of w.allNetns()) captureNetns(ns, writer);
  }
  delivered.n = 0;
  return {
    name: `${mode}, ${capture ? 'every interface captured' : 'capture off'}`,
    world: w,
    src: client.netns,
    template,
    delivered,
    events: 0,
    cpuUs: 0,
    sent: 0,
    captured,
    endpoint: `${formatIpv4(parseIpv4(target.pod.status!.podIP!))} (${target.pod.metadata.name} on ${target.node.name})`,
    firstPacketRules,
  };
}

function send(p: Path): void {
  const q = p.world.clock;
  const before = q.executed;
  const cpu = process.cpuUsage();
  for (let i = 0; i < BATCH; i++) p.src.ipOutput(p.template.clone());
  // 10 ms of simulated time: every packet of the batch arrives (the agents' periodic work may
  // run too; events/packet shows it).
  q.run(q.now + 10e6);
  const used = process.cpuUsage(cpu);
  p.cpuUs += used.user + used.system;
  p.sent += BATCH;
  p.events = (q.executed - before) / BATCH;
}

export async function run(): Promise<void> {
  const paths: Path[] = [];
  for (const mode of ['iptables', 'ipvs'] as const) for (const capture of [false, true]) paths.push(build(mode, capture));
  const bench = new Bench({ time: 1000, warmup: true });
  for (const p of paths) bench.add(`pod -> ClusterIP -> pod on another node (VXLAN), ${p.name}`, () => send(p));
  await bench.run();
  const rows = bench.tasks.map((t, i) => {
    const r = t.result;
    const p = paths[i]!;
    const mean = r.state === 'completed' ? r.latency.mean : NaN; // ms per BATCH
    const median = r.state === 'completed' ? r.latency.p50! : NaN;
    const nsPerPkt = (median * 1e6) / BATCH;
    const cpuNs = (p.cpuUs * 1000) / p.sent;
    if (p.delivered.n !== p.sent) throw new Error(`${p.name}: ${p.delivered.n} of ${p.sent} packets delivered`);
    return {
      task: t.name,
      'ns/packet (median)': nsPerPkt.toFixed(0),
      'ns/packet (mean)': ((mean * 1e6) / BATCH).toFixed(0),
      'x kernel (49k pps)': (1e9 / nsPerPkt / KERNEL_PPS).toFixed(1),
      'cpu ns/packet': cpuNs.toFixed(0),
      'x kernel (cpu)': (1e9 / cpuNs / KERNEL_PPS).toFixed(1),
      'events/packet': p.events.toFixed(1),
    };
  });
  console.table(rows);
  for (const p of paths)
    console.log(`${p.name}: flow DNATed to ${p.endpoint}; first packet walked ${p.firstPacketRules} rules on node-a; delivered ${p.delivered.n}/${p.sent}${p.captured ? `; captured ${p.captured.bytes} bytes` : ''}`);
}
