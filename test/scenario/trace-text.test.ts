// The human trace and the JSON trace group steps by packet: every frame and decision of one
// packet (the same skb, across veths, VXLAN and the wire) under one number, and within it by
// machine and namespace. Checked on the seed's acceptance path and against a golden dump.
import { describe, expect, it } from 'vitest';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../src/scenario/trace/exchange.js';
import { traceJson } from '../../src/scenario/trace/json.js';
import { formatTraceText } from '../../src/scenario/trace/text.js';
import { packetOfSteps } from '../../src/scenario/trace/packets.js';

const SEED = new URL('../../scenarios/seed.yaml', import.meta.url).pathname;
const POD = 'pod/k8s/k8s-xxx-648c86cd45-qbhj9';

function trace(to: string, sets: string[] = []): ExchangeResult {
  const rt = startRuntime(loadScenarioFile(SEED, sets));
  return runExchange(rt, resolvePlace(rt, POD), resolveTarget(rt, to), 'tcp');
}

/** TCP flags of the innermost TCP header of an Ethernet frame (through VXLAN), or -1. */
function innerTcpFlags(b: Uint8Array): number {
  let o = 14;
  for (;;) {
    if (b[12] !== 0x08 && o === 14) return -1;
    const ihl = (b[o]! & 15) * 4;
    const proto = b[o + 9];
    if (proto === 6) return b[o + ihl + 13]!;
    if (proto === 17 && ((b[o + ihl + 2]! << 8) | b[o + ihl + 3]!) === 8472) {
      o = o + ihl + 8 + 8 + 14;
      continue;
    }
    return -1;
  }
}

describe('trace grouped per packet', () => {
  const r = trace('10.42.3.171:18888');
  const packets = packetOfSteps(r.steps);

  it('the SYN is one packet on every device it crosses, pod to pod over VXLAN, and nothing else is', () => {
    const syn = r.steps.flatMap((s, i) => (s.type === 'frame' && innerTcpFlags(s.bytes) === 0x02 ? [i] : []));
    expect(syn.length).toBeGreaterThanOrEqual(8); // pod eth0, cali, flannel.1, eth0 (x2 nodes), cali, pod eth0
    const ids = new Set(syn.map((i) => packets[i]));
    expect(ids.size).toBe(1);
    const id = [...ids][0]!;
    const others = r.steps.filter((s, i) => s.type === 'frame' && packets[i] === id && innerTcpFlags(s.bytes) !== 0x02);
    expect(others).toEqual([]);
    // Its route, neighbour, FDB and netfilter decisions on both nodes carry the same number.
    const kinds = new Set(r.steps.flatMap((s, i) => (s.type === 'event' && packets[i] === id ? [`${s.event.node} ${s.event.kind}`] : [])));
    for (const k of ['192.168.4.88 linux.fib', '192.168.4.88 linux.fdb', '192.168.4.88 nf.rule', '192.168.4.90 linux.fib', '192.168.4.90 nf.ct']) expect(kinds).toContain(k);
  });

  it('packets are numbered by first appearance, and the socket events go with the packet that caused them', () => {
    const seen: number[] = [];
    for (const n of packets) if (n !== 0 && !seen.includes(n)) seen.push(n);
    expect(seen).toEqual(seen.map((_, i) => i + 1));
    // The client's SYN_SENT -> ESTABLISHED happens on the SYN-ACK's arrival.
    const est = r.steps.findIndex((s) => s.type === 'event' && s.event.kind === 'tcp.state' && (s.event as unknown as { to: string }).to === 'ESTABLISHED' && s.event.netns !== 'root');
    expect(est).toBeGreaterThan(-1);
    const frames = r.steps.flatMap((s, i) => (s.type === 'frame' && packets[i] === packets[est] ? [innerTcpFlags(s.bytes)] : []));
    expect(frames.length).toBeGreaterThan(0);
    expect(new Set(frames)).toEqual(new Set([0x12]));
  });

  it('the text shows each packet once with its tcpdump line, then its machines in path order', () => {
    const text = formatTraceText(r);
    const heads = text.split('\n').filter((l) => l.startsWith('packet '));
    expect(heads.length).toBe(new Set(packets.filter((n) => n !== 0)).size);
    expect(heads[0]).toMatch(/^packet 1 {2}IP 10\.42\.4\.15\.\d+ > 10\.42\.3\.171\.18888: Flags \[S\], /);
    const block = text.split(/\n(?=packet )/)[1]!.split('\n');
    const places = block.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim());
    expect(places).toEqual(['192.168.4.88 k8s-xxx-648c86cd45-qbhj9', '192.168.4.88 root', '192.168.4.90 root', '192.168.4.90 backend-service-555d6684b5-9kwc7']);
    // A locally generated packet names its output route once.
    const routes = block.filter((l) => /route +default via 169\.254\.1\.1 dev eth0/.test(l));
    expect(routes.length).toBe(1);
  });

  it('the JSON names the packet of every device and decision, the same numbers as the text', () => {
    const j = traceJson(r) as { devices: { packet: number }[]; decisions: { packet: number }[] };
    const frameIds = r.steps.flatMap((s, i) => (s.type === 'frame' ? [packets[i]] : []));
    expect(j.devices.map((d) => d.packet)).toEqual(frameIds);
    expect(j.decisions.every((d) => Number.isInteger(d.packet) && d.packet >= 0)).toBe(true);
  });

  it('whole trace, golden', async () => {
    await expect(formatTraceText(r)).toMatchFileSnapshot('../golden/trace/seed-pod-to-pod.txt');
  });

  it('iptables mode through the ClusterIP, golden', async () => {
    await expect(formatTraceText(trace('10.43.199.15:18888', ['kubeProxy.mode=iptables']))).toMatchFileSnapshot('../golden/trace/seed-pod-to-clusterip-iptables.txt');
  });
});
