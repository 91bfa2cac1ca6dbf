// A fixture cluster modelled on seed 000 and an in-memory network for CoreDNS tests: the
// kubernetes store, a fake upstream resolver at 192.168.4.1:53, and loopback to CoreDNS.
import type { EndpointSlice, Namespace, Pod, Service } from '../../../src/k8s/api/types.js';
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Random } from '../../../src/sim/random.js';
import { TraceRecorder } from '../../../src/sim/trace.js';
import { millis } from '../../../src/sim/clock.js';
import { decodeMsg, encodeMsg, newQuery, setReply, type Edns, type Msg, type RR } from '../../../src/apps/coredns/dns/message.js';
import { CoreDns } from '../../../src/apps/coredns/server.js';
import type { CoreDnsEnv } from '../../../src/apps/coredns/plugin.js';
import { KubeStore } from '../../../src/apps/coredns/plugins/kubernetes/store.js';
import { Registry } from '../../../src/apps/coredns/plugins/prometheus/registry.js';
import type { DnsTraceEvent } from '../../../src/apps/coredns/trace.js';
import type { DatagramSocket, DnsNet, Endpoint, StreamSocket } from '../../../src/apps/coredns/transport.js';
import { StreamFramer, frame } from '../../../src/apps/coredns/transport.js';

/** Seed 000's Corefile (its comments dropped). */
export const SEED_COREFILE = `.:53 {
    errors
    health {
      lameduck 5s
    }
    ready
    hosts /etc/add_hosts {
      #1.2.3.1   kubenode1
      fallthrough
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    bufsize 4096
    forward . "/etc/resolv.conf"
    cache 30
    loop
    reload
    loadbalance
}
`;

/** Unix time at simulated 0: 2024-07-31 16:39:16 UTC (the seed's metrics timestamps). */
export const EPOCH = 1722443956;
export const COREDNS_IP = '10.42.1.5';
export const CLIENT_IP = '10.42.4.15';
export const UPSTREAM_IP = '192.168.4.1';

const ns = (name: string): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

export const CLICKHOUSE_PODS = [
  ['clickhouse-1-1-0', '192.168.4.86'],
  ['clickhouse-1-2-0', '192.168.4.87'],
  ['clickhouse-1-3-0', '192.168.4.88'],
  ['clickhouse-2-1-0', '192.168.4.89'],
  ['clickhouse-2-2-0', '192.168.4.90'],
  ['clickhouse-2-3-0', '192.168.4.91'],
] as const;

export function fixtureObjects(): (Service | EndpointSlice | Pod | Namespace)[] {
  const slice = (namespace: string, svc: string, endpoints: EndpointSlice['endpoints'], ports: EndpointSlice['ports']): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abcde`, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints,
    ...(ports ? { ports } : {}),
  });
  return [
    ns('default'),
    ns('kube-system'),
    ns('k8s'),
    ns('clickhouse'),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default' },
      spec: { clusterIP: '10.43.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system' },
      spec: {
        clusterIP: '10.43.0.10',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      },
    },
    slice('kube-system', 'kube-dns', [{ addresses: [COREDNS_IP], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'coredns-68c65cb45-9hxdn' } }], [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'metrics', port: 9153, protocol: 'TCP' },
    ]),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend-service', namespace: 'k8s' },
      spec: { clusterIP: '10.43.199.15', ports: [{ name: 'http', port: 18888, protocol: 'TCP', targetPort: 18888 }] },
    },
    slice(
      'k8s',
      'backend-service',
      [
        { addresses: ['10.42.0.134'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'backend-service-555d6684b5-abcde' } },
        { addresses: ['10.42.3.171'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'backend-service-555d6684b5-fghij' } },
      ],
      [{ name: 'http', port: 18888, protocol: 'TCP' }],
    ),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'clickhouse-service', namespace: 'clickhouse' },
      spec: {
        clusterIP: 'None',
        ports: [
          { name: 'tcp', port: 9000, protocol: 'TCP' },
          { name: 'http', port: 8123, protocol: 'TCP' },
        ],
      },
    },
    slice(
      'clickhouse',
      'clickhouse-service',
      CLICKHOUSE_PODS.map(([name, ip]) => ({ addresses: [ip], hostname: name, conditions: { ready: true }, nodeName: ip, targetRef: { kind: 'Pod', name } })),
      [
        { name: 'tcp', port: 9000, protocol: 'TCP' },
        { name: 'http', port: 8123, protocol: 'TCP' },
      ],
    ),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'external-xxx', namespace: 'k8s' },
      spec: { type: 'ExternalName', externalName: 'xxx.com' },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'external-gone', namespace: 'k8s' },
      spec: { type: 'ExternalName', externalName: 'nothere.example.com' },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'alias', namespace: 'k8s' },
      spec: { type: 'ExternalName', externalName: 'backend-service.k8s.svc.cluster.local' },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'starting', namespace: 'k8s' },
      spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    },
    slice('k8s', 'starting', [{ addresses: ['10.42.5.9'], conditions: { ready: false } }], [{ name: 'http', port: 80, protocol: 'TCP' }]),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'backend-service-555d6684b5-9kwc7', namespace: 'k8s' },
      spec: { containers: [{ name: 'app' }] },
      status: { podIP: CLIENT_IP },
    },
  ];
}

type Handler = (bytes: Uint8Array, from: Endpoint, reply: (b: Uint8Array) => void, proto: 'udp' | 'tcp') => void;

/**
 * The network the tests give CoreDNS: UDP and TCP to registered addresses, each hop taking
 * `latency` of simulated time. A destination nobody serves swallows the packet (a timeout).
 */
export class FakeNet implements DnsNet {
  private servers = new Map<string, Handler>();
  /** Hosts that answer UDP to a closed port with ICMP port unreachable. */
  readonly refusing = new Set<string>();
  private nextPort = 40000;
  constructor(
    readonly eq: EventQueue,
    readonly localAddr: string,
    readonly latency = millis(1),
  ) {}

  serve(addr: string, port: number, h: Handler): void {
    this.servers.set(`${addr}:${port}`, h);
  }

  udp(): DatagramSocket {
    const local: Endpoint = { addr: this.localAddr, port: this.nextPort++ };
    let cb: ((b: Uint8Array, from: Endpoint) => void) | null = null;
    let errCb: ((code: 'ECONNREFUSED', from: Endpoint) => void) | null = null;
    let closed = false;
    return {
      local,
      onError: (f) => {
        errCb = f;
      },
      sendTo: (bytes, addr, port) => {
        const h = this.servers.get(`${addr}:${port}`);
        if (!h) {
          if (this.refusing.has(addr)) this.eq.schedule(2 * this.latency, () => !closed && errCb?.('ECONNREFUSED', { addr, port }));
          return;
        }
        const copy = bytes.slice();
        // The kernel picks 127.0.0.1 as the source for a loopback destination.
        const src = addr.startsWith('127.') ? { addr: '127.0.0.1', port: local.port } : local;
        this.eq.schedule(this.latency, () =>
          h(
            copy,
            src,
            (reply) => {
              const r = reply.slice();
              this.eq.schedule(this.latency, () => {
                if (!closed && cb) cb(r, { addr, port });
              });
            },
            'udp',
          ),
        );
      },
      onMessage: (f) => {
        cb = f;
      },
      close: () => {
        closed = true;
      },
    };
  }

  tcp(addr: string, port: number, cb: (c: StreamSocket | Error) => void): void {
    const h = this.servers.get(`${addr}:${port}`);
    if (!h) {
      this.eq.schedule(this.latency, () => cb(new Error('connect: connection refused')));
      return;
    }
    const local: Endpoint = { addr: this.localAddr, port: this.nextPort++ };
    let onData: ((b: Uint8Array) => void) | null = null;
    const framer = new StreamFramer((m) =>
      h(
        m,
        local,
        (reply) => {
          const r = frame(reply);
          this.eq.schedule(this.latency, () => onData?.(r));
        },
        'tcp',
      ),
    );
    const conn: StreamSocket = {
      local,
      remote: { addr, port },
      write: (b) => {
        const copy = b.slice();
        this.eq.schedule(this.latency, () => framer.push(copy));
      },
      onData: (f) => {
        onData = f;
      },
      onClose: () => {},
      close: () => {
        onData = null;
      },
    };
    this.eq.schedule(this.latency, () => cb(conn));
  }
}

/** The outside world's resolver: a few names, NXDOMAIN with the root SOA for the rest. */
export class FakeUpstream {
  readonly queries: Msg[] = [];
  readonly zone = new Map<string, RR[]>([
    ['xxx.com', [{ name: 'xxx.com', type: 'A', class: 'IN', ttl: 600, data: '122.14.236.25' }]],
    ['siji.example.com', [{ name: 'siji.example.com', type: 'A', class: 'IN', ttl: 300, data: '192.168.4.250' }]],
    ['short.example.com', [{ name: 'short.example.com', type: 'A', class: 'IN', ttl: 2, data: '203.0.113.7' }]],
  ]);
  /** When false the upstream drops everything (a dead resolver). */
  alive = true;

  /** Every query that reached the upstream, answered or not, with its arrival time. */
  readonly arrived: { time: number; msg: Msg }[] = [];
  now: () => number = () => 0;

  handle = (bytes: Uint8Array, _from: Endpoint, reply: (b: Uint8Array) => void): void => {
    const q = decodeMsg(bytes);
    this.arrived.push({ time: this.now(), msg: q });
    if (!this.alive) return;
    this.queries.push(q);
    const m = setReply(q);
    m.ra = true;
    const name = q.question[0]!.name.toLowerCase();
    const rrs = this.zone.get(name);
    if (rrs) m.answer = rrs.filter((r) => r.type === q.question[0]!.type).map((r) => ({ ...r, name: q.question[0]!.name }) as RR);
    else {
      m.rcode = 3;
      m.ns = [
        {
          name: '.',
          type: 'SOA',
          class: 'IN',
          ttl: 86400,
          data: { mname: 'a.root-servers.net', rname: 'nstld.verisign-grs.com', serial: 2024073100, refresh: 1800, retry: 900, expire: 604800, minimum: 86400 },
        },
      ];
    }
    if (q.edns) m.edns = { udpSize: 1232, do: false, version: 0, extRcode: 0, options: [] };
    reply(encodeMsg(m));
  };
}

export interface World {
  eq: EventQueue;
  rng: Random;
  store: KubeStore;
  net: FakeNet;
  upstream: FakeUpstream;
  dns: CoreDns;
  trace: TraceRecorder<DnsTraceEvent>;
  stdout: string[];
  metrics: Registry;
}

export interface WorldOptions {
  corefile?: string;
  files?: Record<string, string>;
  seed?: number;
  objects?: (Service | EndpointSlice | Pod | Namespace)[];
}

export function makeWorld(opts: WorldOptions = {}): World {
  const eq = new EventQueue();
  const rng = new Random(opts.seed ?? 42);
  const store = new KubeStore(() => EPOCH + eq.now / 1e9);
  for (const o of opts.objects ?? fixtureObjects()) store.upsert(o);
  const net = new FakeNet(eq, COREDNS_IP);
  const upstream = new FakeUpstream();
  upstream.now = () => eq.now;
  net.serve(UPSTREAM_IP, 53, upstream.handle);
  const trace = new TraceRecorder<DnsTraceEvent>();
  const stdout: string[] = [];
  const metrics = new Registry();
  const env: CoreDnsEnv = {
    eq,
    rng: rng.fork('coredns'),
    trace,
    node: '192.168.4.86',
    netns: 'coredns-68c65cb45-9hxdn',
    epochSeconds: EPOCH,
    files: opts.files ?? { '/etc/resolv.conf': `nameserver ${UPSTREAM_IP}\n`, '/etc/add_hosts': '1.2.3.1   kubenode1\n' },
    k8s: store,
    net,
    localIPs: [COREDNS_IP],
    stdout: (l) => stdout.push(l),
    metrics,
  };
  const dns = CoreDns.load(opts.corefile ?? SEED_COREFILE, env);
  // CoreDNS listens on its pod IP and loopback (the loop probe goes to 127.0.0.1).
  for (const addr of [COREDNS_IP, '127.0.0.1']) {
    for (const port of dns.ports()) {
      net.serve(addr, port, (bytes, from, reply, proto) => dns.handleDatagram(port, bytes, from, { addr, port }, reply, proto));
    }
  }
  eq.run(); // startup: the loop probe goes upstream and comes back
  return { eq, rng, store, net, upstream, dns, trace, stdout, metrics };
}

export interface AskOptions {
  edns?: Edns | null;
  rd?: boolean;
  proto?: 'udp' | 'tcp';
  id?: number;
}

/** Sends one query from the client pod and runs the clock until it is answered. */
export function ask(w: World, name: string, type: string, o: AskOptions = {}): { reply: Msg; bytes: Uint8Array } {
  const q = newQuery(o.id ?? 4242, name, type, { rd: o.rd ?? true, edns: o.edns ?? null });
  let out: Uint8Array | null = null;
  w.dns.handleDatagram(53, encodeMsg(q), { addr: CLIENT_IP, port: 45678 }, { addr: '10.43.0.10', port: 53 }, (b) => (out = b), o.proto ?? 'udp');
  // Run until the reply, not until idle: forward's health probes of a dead upstream never stop.
  untilDone(w, () => out !== null);
  if (!out) throw new Error(`no reply to ${name} ${type}`);
  return { reply: decodeMsg(out), bytes: out };
}

/** The client pod's network: the kube-dns VIP 10.43.0.10:53 reaches CoreDNS (UDP and TCP). */
export function podNet(w: World, addr = CLIENT_IP): FakeNet {
  const net = new FakeNet(w.eq, addr);
  net.serve('10.43.0.10', 53, (bytes, from, reply, proto) => w.dns.handleDatagram(53, bytes, from, { addr: '10.43.0.10', port: 53 }, reply, proto));
  return net;
}

/** Steps the clock until `done()` or nothing is left (at most a simulated minute). */
export function untilDone(w: { eq: EventQueue }, done: () => boolean): void {
  const limit = w.eq.now + 60e9;
  while (!done() && w.eq.now <= limit && w.eq.step()) {
    // keep stepping
  }
}
