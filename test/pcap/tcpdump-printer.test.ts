// The trace's frame summaries against real tcpdump: the same frames (a TCP exchange, ping,
// UDP to a closed port, ARP, all across VXLAN, made by the cluster model) printed by both.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureNetns } from '../../src/linux/capture.js';
import { PcapWriter } from '../../src/pcap/pcap-writer.js';
import { TcpdumpPrinter } from '../../src/pcap/tcpdump.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { resolveTarget, runExchange } from '../../src/scenario/trace/exchange.js';
import { parseIpv4 } from '../../src/wire/ipv4-address.js';
import { missing } from '../helpers/tools.js';

function exchangeFrames(): Uint8Array[] {
  const rt = startRuntime(loadScenarioFile(new URL('../../scenarios/seed.yaml', import.meta.url).pathname));
  const w = rt.world;
  const frames: Uint8Array[] = [];
  const src = w.pods.get('k8s/k8s-xxx-648c86cd45-qbhj9')!;
  const dst = w.pods.get('k8s/backend-service-555d6684b5-9kwc7')!;
  captureNetns(w.machines.get('192.168.4.88')!.root, { frame: (iface: string, _t: number, bytes: Uint8Array) => void (iface.endsWith('/eth0') && frames.push(bytes.slice())) });
  void dst; // the backend pod runs the scenario's HTTP echo server on 18888
  src.sockets.tcpConnect(parseIpv4('10.42.3.171'), 18888, { onConnect: (s) => s.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), onEnd: (s) => s.close() });
  src.sockets.ping().send(parseIpv4('10.42.3.171'));
  src.sockets.udp().sendto(new Uint8Array(10), parseIpv4('10.42.3.171'), 9999);
  w.run(5e9);
  // A lookup by name then HTTP on port 80: DNS queries and answers, `HTTP:` first lines.
  const rt2 = startRuntime(loadScenarioFile(new URL('../../scenarios/seed.yaml', import.meta.url).pathname));
  const r = runExchange(rt2, resolvePlace(rt2, 'pod/k8s/k8s-xxx-648c86cd45-qbhj9'), resolveTarget(rt2, 'xxx.com:80'), 'tcp');
  for (const s of r.steps) if (s.type === 'frame' && s.netns === 'k8s-xxx-648c86cd45-qbhj9') frames.push(s.bytes);
  return frames;
}

/** Moves the VXLAN port to 4789, which every tcpdump decodes as VXLAN (older ones call 8472 OTV). */
function to4789(f: Uint8Array): Uint8Array {
  const g = f.slice();
  if (g[12] === 8 && g[13] === 0 && g[23] === 17) {
    const u = 14 + (g[14]! & 15) * 4;
    if (((g[u + 2]! << 8) | g[u + 3]!) === 8472) [g[u + 2], g[u + 3]] = [0x12, 0xb5];
  }
  return g;
}

describe('TcpdumpPrinter', () => {
  const frames = exchangeFrames();

  it('covers ARP, VXLAN, TCP handshake/data/FIN, ICMP echo and port unreachable', () => {
    const p = new TcpdumpPrinter();
    const text = frames.map((f) => p.frame(f)).join('\n');
    for (const s of ['ARP, Request who-has', 'ARP, Reply', 'VXLAN, flags [I] (0x08), vni 1', 'Flags [S]', 'Flags [S.]', 'Flags [P.], seq 1:47, ack 1', 'Flags [F.]', 'ICMP echo request, id', 'udp port 9999 unreachable', 'A? xxx.com.k8s.svc.cluster.local. (47)', 'NXDomain*- 0/1/0', ': HTTP: GET / HTTP/1.1']) expect(text).toContain(s);
  });

  const why = missing({ tools: ['tcpdump'] });
  it.skipIf(why !== null)('prints what tcpdump -nn prints for the same frames', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-tcpdump-'));
    const file = join(dir, 'x.pcap');
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter({ write: (c: Uint8Array) => void chunks.push(c.slice()) });
    const moved = frames.map(to4789);
    moved.forEach((f, i) => w.frame('x', i * 1000, f, 'out'));
    writeFileSync(file, Buffer.concat(chunks));
    const real = execFileSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trimEnd()
      .split('\n')
      .map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{6} /, ''));
    const p = new TcpdumpPrinter();
    const ours = moved.flatMap((f) => p.frame(f).split('\n'));
    expect(ours).toEqual(real);
  });
});
