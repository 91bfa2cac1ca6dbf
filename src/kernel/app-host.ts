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
import { EventQueue } from '../sim/event-queue.js';
import { loadScenarioFile } from '../scenario/load.js';
import { defaultScenarioPath } from '../scenario/default.js';
import { startRuntime, type Runtime } from '../scenario/runtime.js';
import { startWorkloads } from '../scenario/workloads.js';
import { parseIpv4 } from '../wire/ipv4-address.js';
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
  if (c.proto === 'tcp') {
    const to = { label: c.toLabel, ip: parseIpv4(c.ip), port: c.port, ...(c.url ? { url: c.url } : {}) };
    httpExchange(streamsFor(real as never).connector, to.ip, to, finish);
  } else {
    const u = real.udp();
    u.onMessage = (d) => finish(true, null, dec.decode(d));
    u.onError = (errno) => finish(false, errno, null);
    u.bind(0);
    u.connect(parseIpv4(c.ip), c.port);
    u.send(udpGreeting(c.fromLabel));
  }
}

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '{}') as HostSpec;
  if (spec.client) return client(spec);
  const rt = startRuntime(loadScenarioFile(spec.scenario ?? defaultScenarioPath(), spec.sets));
  serve(spec, rt);
}

main();
