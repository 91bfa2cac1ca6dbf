// Differential test against the real kernel for the calico-style pod path: a /32 pod address,
// `default via 169.254.1.1`, a host veth with proxy_arp=1 and proxy_delay=0, a /32 route to the
// pod; the node routes to a host on its underlay. ping from the pod, captured on every
// interface (tcpdump vs capture wrappers), frames compared after normalising IP IDs, echo ids
// and timestamps; then the neighbour tables of pod and node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/tools.js';
import { Lab, sleep } from '../kernel/harness/netns.js';
import { readCapture } from '../../src/pcap/reader.js';
import { buildIcmp } from '../../src/wire/build.js';
import { parseIpv4 } from '../../src/wire/ipv4-address.js';
import { captureDevice } from '../../src/linux/capture.js';
import { ipNeigh } from '../../src/linux/print/ip-neigh.js';
import { World } from './world.js';

type Ns = 'node' | 'pod' | 'ext';

const CMDS: [Ns, string][] = [
  ['node', 'link add cali1 type veth peer name eth0 netns @pod'],
  ['node', 'link set cali1 address ee:ee:ee:ee:ee:ee'],
  ['node', 'link set cali1 up'],
  ['node', 'link set eth0 address 7a:36:c7:54:f6:49'],
  ['node', 'addr add 192.168.4.86/24 dev eth0'],
  ['node', 'link set eth0 up'],
  ['node', 'route add default via 192.168.4.1 dev eth0'],
  ['ext', 'link set eth0 address e6:d8:6c:c3:af:74'],
  ['ext', 'addr add 192.168.4.1/24 dev eth0'],
  ['ext', 'link set eth0 up'],
  ['ext', 'route add 10.42.0.0/16 via 192.168.4.86'],
  ['node', 'route add 10.42.0.5 dev cali1 scope link'],
  ['pod', 'link set eth0 address f2:bc:53:58:92:cd'],
  ['pod', 'link set eth0 up'],
  ['pod', 'addr add 10.42.0.5/32 brd 10.42.0.5 dev eth0'],
  ['pod', 'route add 169.254.1.1 dev eth0 scope link'],
  ['pod', 'route add default via 169.254.1.1 dev eth0'],
];
const SYSCTLS: [Ns, string, string][] = [
  ['node', 'net.ipv4.ip_forward', '1'],
  ['node', 'net.ipv4.conf.cali1.proxy_arp', '1'],
  ['node', 'net.ipv4.neigh.cali1.proxy_delay', '0'],
];
const TAPS: [Ns, string][] = [['pod', 'eth0'], ['node', 'cali1'], ['node', 'eth0'], ['ext', 'eth0']];

function normalise(frame: Uint8Array): string {
  const b = frame.slice();
  if (b[12] === 8 && b[13] === 0 && b.length >= 34) {
    b[18] = b[19] = 0;
    b[24] = b[25] = 0;
    if (b[23] === 1 && (b[34] === 8 || b[34] === 0)) {
      b[36] = b[37] = 0;
      b[38] = b[39] = 0;
      b.fill(0, 42, Math.min(b.length, 58));
    }
  }
  return Buffer.from(b).toString('hex');
}

const why = missing({ root: true, tools: ['ip', 'tcpdump', 'ping'] });

describe.skipIf(why !== null)('model vs kernel: calico-style pod behind proxy ARP', () => {
  const lab = new Lab('linux-calico');
  const kernel = new Map<string, string[]>();
  const kernelNeigh: Record<string, string> = {};
  beforeAll(async () => {
    for (const n of ['node', 'pod', 'ext']) {
      lab.addNetns(n);
      lab.exec(n, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    lab.ip('node', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lab.ns('ext'));
    for (const [ns, args] of CMDS) lab.ip(ns, ...args.split(' ').map((w) => (w.startsWith('@') ? lab.ns(w.slice(1)) : w)));
    for (const [ns, k, v] of SYSCTLS) lab.exec(ns, ['sysctl', '-qw', `${k}=${v}`]);
    await sleep(1500);
    const stops = new Map<string, () => Promise<Uint8Array>>();
    for (const [ns, dev] of TAPS) stops.set(`${ns}/${dev}`, await lab.capture(ns, dev));
    lab.exec('pod', ['ping', '-c', '1', '-W', '2', '192.168.4.1']);
    await sleep(300);
    for (const [k, stop] of stops) kernel.set(k, readCapture(await stop()).records.filter((r) => r.data[23] !== 2).map((r) => normalise(r.data)));
    for (const n of ['node', 'pod', 'ext']) kernelNeigh[n] = lab.exec(n, ['ip', 'neigh']).split('\n').filter(Boolean).sort().join('\n');
  }, 60_000);
  afterAll(() => lab.cleanup());

  it('the same frames on every interface and the same neighbour tables', () => {
    const w = new World();
    for (const n of ['node', 'pod', 'ext']) w.netns(n);
    w.ip('node', 'link add eth0 type veth peer name eth0 netns ext');
    for (const [ns, args] of CMDS) w.ip(ns, args.replace(/@(\w+)/g, '$1'));
    for (const [ns, k, v] of SYSCTLS) w.ns.get(ns)!.sysctl_.set(k, v);
    w.run(1e9);
    const frames = new Map<string, string[]>();
    for (const [ns, dev] of TAPS) {
      const l: string[] = [];
      frames.set(`${ns}/${dev}`, l);
      captureDevice(w.ns.get(ns)!.mustDev(dev), { frame: (_i, _t, b) => l.push(normalise(b)) });
    }
    const data = new Uint8Array(56);
    for (let i = 16; i < 56; i++) data[i] = i;
    w.ns.get('pod')!.ipOutput(buildIcmp({ src: parseIpv4('10.42.0.5'), dst: parseIpv4('192.168.4.1'), dontFragment: true }, { kind: 'echo-request', ident: 1, seq: 1, data }));
    w.run(300e6);
    for (const [ns, dev] of TAPS) expect(kernel.get(`${ns}/${dev}`)!.length).toBeGreaterThanOrEqual(2);
    // The pod's ARP for 169.254.1.1 is answered by the host with the cali MAC (proxy ARP).
    expect(kernel.get('pod/eth0')![1]).toMatch(/^f2bc535892cdeeeeeeeeeeee0806/);
    for (const [ns, dev] of TAPS) expect({ at: `${ns}/${dev}`, frames: frames.get(`${ns}/${dev}`) }).toEqual({ at: `${ns}/${dev}`, frames: kernel.get(`${ns}/${dev}`) });
    const neigh: Record<string, string> = {};
    for (const n of ['node', 'pod', 'ext']) neigh[n] = ipNeigh(w.ns.get(n)!).split('\n').filter(Boolean).sort().join('\n');
    expect(neigh).toEqual(kernelNeigh);
  });
});
