// Differential test against the real kernel: two "nodes" on an underlay, a cni0 bridge with two
// pods on one, flannel.1 (VXLAN 8472) with the static neighbour/FDB/route flanneld writes, one
// pod on the other. The same topology is built in real namespaces (underlay = a bridge in its
// own namespace) and in the model (underlay = a Segment); ICMP echo same-node, ICMP echo
// across nodes, a UDP datagram to a closed port across nodes and one TCP connection across
// nodes (python3 sockets in the kernel, the socket layer in the model) are sent; every
// interface on the path is captured (tcpdump / capture wrappers) and the frame sequences
// compared after normalising what is random by design (IP IDs and the checksums they feed, ICMP
// echo ids and timestamps, UDP source ports, the VXLAN source port, TCP ISNs, TSvals and
// ephemeral ports). Then `ip route`, `ip neigh`,
// `bridge fdb` and `ip addr` of both are compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/tools.js';
import { Lab, sleep } from '../kernel/harness/netns.js';
import { readCapture } from '../../src/pcap/reader.js';
import { buildIcmp, buildUdp } from '../../src/wire/build.js';
import { parseIpv4 } from '../../src/wire/ipv4-address.js';
import { captureDevice } from '../../src/linux/capture.js';
import { ipRoute } from '../../src/linux/print/ip-route.js';
import { ipNeigh } from '../../src/linux/print/ip-neigh.js';
import { bridgeFdb } from '../../src/linux/print/bridge-fdb.js';
import { ipAddr } from '../../src/linux/print/ip-addr.js';
import { millis } from '../../src/sim/clock.js';
import { SocketLayer } from '../../src/linux/sock/stack.js';
import { World } from './world.js';
import { normaliser } from './normalise.js';

type Ns = 'n1' | 'n2' | 'p1' | 'p2' | 'q1';

const NODES = [
  { ns: 'n1' as const, ip: '192.168.4.86', mac: '7a:36:c7:54:f6:49', sub: 0, vtep: 'aa:aa:aa:00:00:01' },
  { ns: 'n2' as const, ip: '192.168.4.87', mac: 'e6:d8:6c:c3:af:74', sub: 1, vtep: 'aa:aa:aa:00:00:02' },
];
const PODS = [
  { ns: 'p1' as const, node: 'n1' as const, host: 'veth1a', hostMac: '8a:08:2c:0e:a9:78', mac: 'f2:bc:53:58:92:cd', ip: '10.42.0.2', sub: 0 },
  { ns: 'p2' as const, node: 'n1' as const, host: 'veth2b', hostMac: '8a:08:2c:0e:a9:79', mac: 'f2:bc:53:58:92:ce', ip: '10.42.0.3', sub: 0 },
  { ns: 'q1' as const, node: 'n2' as const, host: 'veth3c', hostMac: '8a:08:2c:0e:a9:7a', mac: 'f2:bc:53:58:92:cf', ip: '10.42.1.2', sub: 1 },
];

/** Everything after the underlay cabling, as `ip`/`bridge` words per namespace. */
function commands(): [Ns, 'ip' | 'bridge', string][] {
  const c: [Ns, 'ip' | 'bridge', string][] = [];
  for (const n of NODES) {
    c.push([n.ns, 'ip', `link set eth0 address ${n.mac}`], [n.ns, 'ip', 'link set eth0 up'], [n.ns, 'ip', `addr add ${n.ip}/24 brd + dev eth0`]);
    c.push([n.ns, 'ip', 'link add cni0 type bridge'], [n.ns, 'ip', 'link set cni0 mtu 1450'], [n.ns, 'ip', `addr add 10.42.${n.sub}.1/24 brd + dev cni0`], [n.ns, 'ip', 'link set cni0 up']);
    c.push([n.ns, 'ip', `link add flannel.1 type vxlan id 1 local ${n.ip} dev eth0 nolearning dstport 8472`], [n.ns, 'ip', `link set flannel.1 address ${n.vtep}`], [n.ns, 'ip', 'link set flannel.1 up'], [n.ns, 'ip', `addr add 10.42.${n.sub}.0/32 dev flannel.1`]);
    for (const o of NODES) {
      if (o === n) continue;
      c.push([n.ns, 'ip', `neigh replace 10.42.${o.sub}.0 lladdr ${o.vtep} dev flannel.1 nud permanent`]);
      c.push([n.ns, 'bridge', `fdb append ${o.vtep} dev flannel.1 dst ${o.ip} self permanent`]);
      c.push([n.ns, 'ip', `route replace 10.42.${o.sub}.0/24 via 10.42.${o.sub}.0 dev flannel.1 onlink`]);
    }
  }
  for (const p of PODS) {
    c.push([p.node, 'ip', `link add ${p.host} type veth peer name eth0 netns @${p.ns}`]);
    c.push([p.node, 'ip', `link set ${p.host} address ${p.hostMac}`], [p.node, 'ip', `link set ${p.host} mtu 1450`], [p.node, 'ip', `link set ${p.host} master cni0`], [p.node, 'ip', `link set ${p.host} up`]);
    c.push([p.node, 'ip', `link set ${p.host} type bridge_slave hairpin on`]);
    c.push([p.ns, 'ip', `link set eth0 address ${p.mac}`], [p.ns, 'ip', 'link set eth0 mtu 1450'], [p.ns, 'ip', 'link set eth0 up'], [p.ns, 'ip', `addr add ${p.ip}/24 brd + dev eth0`]);
    c.push([p.ns, 'ip', `route add 10.42.0.0/16 via 10.42.${p.sub}.1`], [p.ns, 'ip', `route add default via 10.42.${p.sub}.1`]);
  }
  return c;
}

/** Where we capture: namespace and device. */
const TAPS: [Ns, string][] = [
  ['p1', 'eth0'], ['n1', 'veth1a'], ['n1', 'cni0'], ['n1', 'veth2b'], ['p2', 'eth0'], ['n1', 'flannel.1'], ['n1', 'eth0'],
  ['n2', 'eth0'], ['n2', 'flannel.1'], ['n2', 'cni0'], ['n2', 'veth3c'], ['q1', 'eth0'],
];

function pingPayload(): Uint8Array {
  const d = new Uint8Array(56);
  for (let i = 16; i < 56; i++) d[i] = i; // iputils ping fills byte i with i after its 16-byte timestamp
  return d;
}

// One TCP connection p1 -> q1:8080, the exchange test/linux/sock/kernel.test.ts checks over one
// veth ("request and response, the server closes first"); the sleeps keep the kernel's ACK
// timing deterministic (the client's ACK of the FIN is not delayed into its own FIN).
const TCP_SERVER = `
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 8080)); s.listen()
print('listening', flush=True)
c, _ = s.accept()
c.recv(100); c.sendall(b'pong' * 3); time.sleep(0.3); c.close(); time.sleep(0.5)
`;
const TCP_CLIENT = `
import socket, time
c = socket.create_connection(('10.42.1.2', 8080))
c.sendall(b'hello')
while c.recv(100): pass
time.sleep(0.2); c.close(); time.sleep(0.3); print('done')
`;

const why = missing({ root: true, tools: ['ip', 'bridge', 'tcpdump', 'ping', 'python3'] });

describe.skipIf(why !== null)('model vs kernel: frames on every interface, and state', () => {
  const lab = new Lab('linux-diff');
  const kernel = new Map<string, string[]>();
  /** When each exchange started on p1's eth0 in the kernel run, and its last frame anywhere (ns since the first). */
  const timeline = { e2: 0, e3: 0, e4: 0, end: 0 };
  let clientSaid = '';
  const kernelText: Record<string, string> = {};
  beforeAll(async () => {
    lab.addNetns('ul');
    for (const n of ['n1', 'n2', 'p1', 'p2', 'q1']) {
      lab.addNetns(n);
      lab.exec(n, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.ip_forward=1']);
    }
    lab.exec('ul', ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    lab.ip('ul', 'link', 'add', 'sw', 'type', 'bridge');
    lab.ip('ul', 'link', 'set', 'sw', 'up');
    for (const [i, n] of ['n1', 'n2'].entries()) {
      lab.ip(n, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `u${i}`, 'netns', lab.ns('ul'));
      lab.ip('ul', 'link', 'set', `u${i}`, 'master', 'sw');
      lab.ip('ul', 'link', 'set', `u${i}`, 'up');
    }
    for (const [ns, tool, args] of commands()) {
      const words = args.split(' ').map((w) => (w.startsWith('@') ? lab.ns(w.slice(1)) : w));
      lab.must(tool, ['-n', lab.ns(ns), ...words]);
    }
    await sleep(3000); // let linkwatch and the bridges settle before capturing
    const srv = lab.spawn('q1', ['python3', '-c', TCP_SERVER]);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the TCP server did not start')), 20_000);
      srv.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const stops = new Map<string, () => Promise<Uint8Array>>();
    for (const [ns, dev] of TAPS) stops.set(`${ns}/${dev}`, await lab.capture(ns, dev));
    lab.exec('p1', ['ping', '-c', '1', '-W', '2', '-s', '56', '10.42.0.3']);
    await sleep(200);
    lab.exec('p1', ['ping', '-c', '1', '-W', '2', '-s', '56', '10.42.1.2']);
    await sleep(200);
    lab.exec('p1', ['python3', '-c', "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x'*10, ('10.42.1.2', 9999))"]);
    await sleep(500);
    clientSaid = lab.exec('p1', ['python3', '-c', TCP_CLIENT]).trim();
    await new Promise<void>((resolve) => (srv.exitCode !== null ? resolve() : srv.on('exit', () => resolve())));
    await sleep(300);
    const times = new Map<string, number[]>();
    for (const [k, stop] of stops) {
      const cap = readCapture(await stop());
      const recs = cap.records.filter((r) => !isIgmp(r.data));
      const norm = normaliser();
      kernel.set(k, recs.map((r) => norm(r.data)));
      times.set(k, recs.map((r) => Number(r.timestampNs)));
    }
    // A loaded machine stretches the kernel run; the model replays its timeline so neighbour
    // timers (DELAY -> PROBE after 5 s) fire at the same points of the exchange.
    const f = kernel.get('p1/eth0')!;
    const t = times.get('p1/eth0')!;
    const t0 = t[0]!;
    timeline.e2 = t[f.findIndex((x) => x.startsWith('ffffffffffff') && x.endsWith('0a2a0001'))]! - t0;
    timeline.e3 = t[f.findIndex((x) => x.slice(24, 28) === '0800' && x.slice(46, 48) === '11')]! - t0;
    timeline.e4 = t[f.findIndex((x) => x.slice(24, 28) === '0800' && x.slice(46, 48) === '06')]! - t0;
    timeline.end = Math.max(...[...times.values()].map((l) => l[l.length - 1] ?? t0)) - t0;
    kernelText['n1 ip route'] = lab.exec('n1', ['ip', 'route']);
    kernelText['n1 ip neigh'] = sortLines(lab.exec('n1', ['ip', 'neigh']));
    kernelText['n2 ip neigh'] = sortLines(lab.exec('n2', ['ip', 'neigh']));
    kernelText['n1 bridge fdb'] = sortLines(lab.exec('n1', ['bridge', 'fdb', 'show', 'br', 'cni0']));
    kernelText['p1 ip neigh'] = sortLines(lab.exec('p1', ['ip', 'neigh']));
    kernelText['q1 ip neigh'] = sortLines(lab.exec('q1', ['ip', 'neigh']));
    kernelText['p1 ip addr'] = lab.exec('p1', ['ip', 'addr']).replaceAll(lab.prefix, '');
  }, 60_000);
  afterAll(() => lab.cleanup());

  function model(): { frames: Map<string, string[]>; text: Record<string, string>; said: string } {
    const w = new World();
    const seg = w.segment('ul');
    const ns = (n: string) => w.ns.get(n)!;
    for (const n of ['n1', 'n2', 'p1', 'p2', 'q1']) {
      w.netns(n, n.startsWith('n') ? n : 'pod');
      ns(n).sysctl_.set('net.ipv4.ip_forward', '1');
    }
    for (const n of ['n1', 'n2']) w.nic(n, 'eth0', seg);
    for (const [where, tool, args] of commands()) {
      const a = args.replace(/@(\w+)/g, '$1');
      if (tool === 'ip') w.ip(where, a);
      else w.bridge(where, a);
    }
    const p1Sock = new SocketLayer(ns('p1'));
    const q1Sock = new SocketLayer(ns('q1'));
    w.run(3e9);
    const frames = new Map<string, string[]>();
    for (const [n, dev] of TAPS) {
      const list: string[] = [];
      frames.set(`${n}/${dev}`, list);
      const norm = normaliser();
      captureDevice(ns(n).mustDev(dev), { frame: (_i, _t, b) => list.push(norm(b)) });
    }
    const p1 = ns('p1');
    const echo = (dst: string) => buildIcmp({ src: parseIpv4('10.42.0.2'), dst: parseIpv4(dst), dontFragment: true, ident: 1 }, { kind: 'echo-request', ident: 1, seq: 1, data: pingPayload() });
    p1.ipOutput(echo('10.42.0.3'));
    w.run(timeline.e2);
    p1.ipOutput(echo('10.42.1.2'));
    w.run(timeline.e3 - timeline.e2);
    p1.ipOutput(buildUdp({ src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.42.1.2'), dontFragment: true, ident: 1 }, { srcPort: 40000, dstPort: 9999 }, new Uint8Array(10).fill(0x78)));
    w.run(timeline.e4 - timeline.e3);
    const enc = (s: string) => new TextEncoder().encode(s);
    q1Sock.tcpListen(8080, () => ({
      onData: (s) => {
        s.write(enc('pongpongpong'));
        w.clock.schedule(millis(300), () => s.close());
      },
    }), { reuseAddr: true });
    let said = '';
    p1Sock.tcpConnect(parseIpv4('10.42.1.2'), 8080, {
      onConnect: (s) => s.write(enc('hello')),
      onEnd: (s) => {
        said = 'done'; // the client read EOF after the reply, as the python client's loop ends
        w.clock.schedule(millis(200), () => s.close());
      },
    });
    w.run(timeline.end - timeline.e4 + 1e6);
    const text: Record<string, string> = {
      'n1 ip route': ipRoute(ns('n1')),
      'n1 ip neigh': sortLines(ipNeigh(ns('n1'))),
      'n2 ip neigh': sortLines(ipNeigh(ns('n2'))),
      'n1 bridge fdb': sortLines(bridgeFdb(ns('n1'), { br: 'cni0' })),
      'p1 ip neigh': sortLines(ipNeigh(ns('p1'))),
      'q1 ip neigh': sortLines(ipNeigh(ns('q1'))),
      'p1 ip addr': ipAddr(ns('p1')),
    };
    return { frames, text, said };
  }

  it('the same frames, in the same order, on every interface', () => {
    const m = model();
    expect(clientSaid).toBe('done');
    expect(m.said).toBe('done');
    // The TCP connection is on the wire: p1's eth0 saw SYN, SYN-ACK, data both ways, FINs.
    expect(kernel.get('p1/eth0')!.filter((x) => x.slice(46, 48) === '06').length).toBeGreaterThanOrEqual(8);
    // ... and inside VXLAN on the underlay (inner IPv4 protocol at byte 14+20+8+8+14+9).
    expect(kernel.get('n1/eth0')!.filter((x) => x.slice(146, 148) === '06').length).toBeGreaterThanOrEqual(8);
    for (const [k] of TAPS.map(([n, d]) => [`${n}/${d}`])) {
      expect({ iface: k, frames: m.frames.get(k!) }).toEqual({ iface: k, frames: kernel.get(k!) });
    }
  });

  it('the same routes, neighbours, FDB entries and addresses afterwards', () => {
    expect(model().text).toEqual(kernelText);
  });
});

function isIgmp(f: Uint8Array): boolean {
  return f[12] === 8 && f[13] === 0 && f[23] === 2;
}

function sortLines(s: string): string {
  return s.split('\n').filter(Boolean).sort().join('\n');
}
