// Runs kubewire's own apps in one real namespace (started there with `ip netns exec`): the
// servers scenario/workloads.ts starts for that namespace, or the client of one exchange as
// runExchange sends it (apps/http/exchange-client.ts). Same code as the model's, over real
// sockets, so the bytes compare.
//
// Argument: one JSON HostSpec. Serve mode writes `readyFile` once listening; client mode
// prints one JSON line {delivered, reason, response} and exits.
import { writeFileSync } from 'node:fs';
import type { CurlUrl } from '../apps/http/curl.js';
import { httpExchange, udpGreeting } from '../apps/http/exchange-client.js';
import { streamsFor } from '../apps/http/socket-adapter.js';
import { parseResolvConf } from '../apps/resolver/resolvconf.js';
import { StubResolver } from '../apps/resolver/stub.js';
import { EventQueue } from '../sim/event-queue.js';
import { Random } from '../sim/random.js';
import { dnsNet } from '../scenario/dns-net.js';
import { loadScenarioFile } from '../scenario/load.js';
import { defaultScenarioPath } from '../scenario/default.js';
import { startRuntime, type Runtime } from '../scenario/runtime.js';
import { startWorkloads } from '../scenario/workloads.js';
import { parseIpv4, tryParseIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import { AbsentSocketLayer, RealSocketLayer, realTimeClock } from './real-sockets.js';

export interface HostSpec {
  readonly scenario?: string;
  readonly sets: readonly string[];
  readonly machine: string;
  readonly netns: string;
  readonly readyFile?: string;
  readonly client?: {
    readonly proto: 'tcp' | 'udp';
    readonly ip: string;
    readonly port: number;
    /** The exchange's labels: the UDP text and the TCP Host header are made from them. */
    readonly fromLabel: string;
    readonly toLabel: string;
    /** For `http://HOST/PATH` targets: the URL curl is given. */
    readonly url?: CurlUrl;
    /**
     * A name to resolve first, as runExchange does: getaddrinfo by kubewire's glibc stub
     * resolver with the sender's resolv.conf (given here), over this namespace's sockets.
     */
    readonly name?: string;
    readonly resolvConf?: string;
    readonly timeout: number;
  };
}

const dec = new TextDecoder();

/** The runtime as startWorkloads sees it, with only this namespace's sockets real. */
function shadow(rt: Runtime, machine: string, netns: string, clock: EventQueue, real: RealSocketLayer): Runtime {
  const w = rt.world;
  const absent = new AbsentSocketLayer();
  const here = w.getNetns(machine, netns);
  if (!here) throw new Error(`no namespace ${machine}/${netns} in the scenario`);
  const pods = new Map([...w.pods].map(([k, p]) => [k, { ...p, sockets: (p.netns === here ? real : absent) as never }]));
  const machines = new Map([...w.machines].map(([k, m]) => [k, { ...m, sockets: (m.root === here ? real : absent) as never }]));
  const world = Object.create(w, { pods: { value: pods }, machines: { value: machines }, clock: { value: clock } }) as typeof w;
  return { ...rt, world };
}

function serve(spec: HostSpec, rt: Runtime): void {
  const clock = new EventQueue();
  realTimeClock(clock, () => process.hrtime.bigint());
  const real = new RealSocketLayer();
  startWorkloads(shadow(rt, spec.machine, spec.netns, clock, real));
  // Ready once every socket the apps opened is bound. A UDP socket made and never bound
  // (a client) would never settle: only binds that were started count.
  void Promise.all(real.binds.map((b) => Promise.race([b, new Promise<void>((r) => setTimeout(r, 10_000))]))).then(() => {
    if (spec.readyFile) writeFileSync(spec.readyFile, 'ready\n');
  });
}

function client(spec: HostSpec): void {
  const c = spec.client!;
  const real = new RealSocketLayer();
  const finish = (delivered: boolean, reason: string | null, response: string | null): void => {
    process.stdout.write(`${JSON.stringify({ delivered, reason, response })}\n`);
    process.exit(0);
  };
  setTimeout(() => finish(false, 'timed out', null), c.timeout * 1000).unref();
  // As runExchange sends it (apps/http/exchange-client.ts): curl's request, or one datagram.
  const go = (ip: Ipv4Addr): void => {
    if (c.proto === 'tcp') {
      httpExchange(streamsFor(real as never).connector, ip, { label: c.toLabel, ip, port: c.port, ...(c.url ? { url: c.url } : {}) }, finish);
      return;
    }
    const u = real.udp();
    u.onMessage = (d) => finish(true, null, dec.decode(d));
    u.onError = (errno) => finish(false, errno, null);
    u.bind(0);
    u.connect(ip, c.port);
    u.send(udpGreeting(c.fromLabel));
  };
  if (c.name === undefined) return go(parseIpv4(c.ip));
  // getaddrinfo(AF_UNSPEC) with the sender's resolv.conf, on real time; the first IPv4
  // address, as runExchange takes it. The query IDs need no seed of the scenario's.
  const clock = new EventQueue();
  realTimeClock(clock, () => process.hrtime.bigint());
  const name = c.name;
  new StubResolver(dnsNet(real as never), clock, new Random(`resolver:${c.fromLabel}`), parseResolvConf(c.resolvConf ?? '')).getaddrinfo(name, 'unspec', (res) => {
    const v4 = res.addresses.filter((a) => tryParseIpv4(a) !== undefined);
    if (res.status !== 'OK' || v4.length === 0) return finish(false, `getaddrinfo(${name}): ${res.status === 'OK' ? 'no IPv4 address' : res.status}`, null);
    go(parseIpv4(v4[0]!));
  });
}

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '{}') as HostSpec;
  if (spec.client) return client(spec);
  const rt = startRuntime(loadScenarioFile(spec.scenario ?? defaultScenarioPath(), spec.sets));
  serve(spec, rt);
}

main();
