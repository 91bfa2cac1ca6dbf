import { runDig, runDigSearch, digSearchNames, type DigRun } from '../apps/dig/client.js';
import { printDig, printDigFailure, printDigSearch, DEFAULT_DISPLAY } from '../apps/dig/print.js';
import { parseResolvConf } from '../apps/resolver/resolvconf.js';
import { dnsNet } from '../scenario/dns-net.js';
import { EPOCH_SECONDS } from '../scenario/dns-apps.js';
import { EndpointError, resolvePlace } from '../scenario/endpoints.js';
import { resolvConfOf } from '../scenario/resolv.js';
import { captureNetns } from '../linux/capture.js';
import { FileSink } from '../pcap/file-sink.js';
import { PcapngWriter } from '../pcap/pcapng-writer.js';
import { EXIT_NOT_DELIVERED, EXIT_OK, InputError } from './errors.js';
import { loadScenario } from './scenario-arg.js';
import { startRuntime } from '../scenario/runtime.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DigCliOptions {
  from: string;
  set: string[];
  pcap?: string;
  json?: boolean;
}

const TYPES = new Set(['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'NS', 'MX', 'ANY', 'HINFO', 'CAA']);

/**
 * `kubewire dig [SCENARIO] --from POD NAME [TYPE] [@SERVER] [+search] [+showsearch] [+tcp]
 * [+short]`: dig run in that pod's network namespace, its packets crossing the dataplane,
 * printed as dig 9.18 prints. The server defaults to the first nameserver of the pod's
 * /etc/resolv.conf, as dig does.
 */
export function digCommand(scenario: string | undefined, words: string[], o: DigCliOptions, out: (s: string) => void): number {
  let name: string | undefined;
  let type = 'A';
  let server: string | undefined;
  let search = false;
  let showsearch = false;
  let tcp = false;
  let short = false;
  for (const w of words) {
    if (w.startsWith('@')) server = w.slice(1);
    else if (w === '+search') search = true;
    else if (w === '+showsearch') search = showsearch = true;
    else if (w === '+tcp' || w === '+vc') tcp = true;
    else if (w === '+short') short = true;
    else if (w.startsWith('+')) throw new InputError(`kubewire dig: unsupported option ${w} (known: +search +showsearch +tcp +short)`);
    else if (name === undefined) name = w;
    else if (TYPES.has(w.toUpperCase())) type = w.toUpperCase();
    else throw new InputError(`kubewire dig: unexpected argument "${w}"`);
  }
  if (!name) throw new InputError('kubewire dig: a name to look up is needed');
  const rt = startRuntime(loadScenario(scenario, o.set));
  let place;
  try {
    place = resolvePlace(rt, o.from);
  } catch (e) {
    if (e instanceof EndpointError) throw new InputError(`kubewire dig: ${e.message}`);
    throw e;
  }
  const rc = parseResolvConf(resolvConfOf(rt, place));
  const srv = server ?? rc.nameservers[0] ?? '127.0.0.1';
  const w = rt.world;
  let writer: PcapngWriter | null = null;
  if (o.pcap) {
    mkdirSync(dirname(o.pcap), { recursive: true });
    writer = new PcapngWriter(new FileSink(o.pcap), { comment: `kubewire dig --from ${o.from} ${words.join(' ')}`, epochSeconds: EPOCH_SECONDS });
    for (const ns of w.allNetns()) captureNetns(ns, writer);
  }
  const argv = words.join(' ');
  const opts = { server: srv, tcp, argv, serverFound: server !== undefined };
  const net = dnsNet(place.sockets);
  const rng = w.rng.fork(`dig:${o.from}`);
  let text: string | null = null;
  let json: unknown = null;
  const display = { ...DEFAULT_DISPLAY, short };
  if (search && !name.endsWith('.')) {
    runDigSearch(net, w.clock, rng, EPOCH_SECONDS, digSearchNames(name, rc), type, opts, (runs: DigRun[]) => {
      text = printDigSearch(runs, showsearch, display);
      json = runs.map((r) => r.exchange?.reply ?? null);
    });
  } else {
    runDig(net, w.clock, rng, EPOCH_SECONDS, name, type, opts, (r: DigRun) => {
      text = r.exchange ? printDig(r.exchange, display) : printDigFailure(argv, server !== undefined, srv, 53, r.failures);
      json = r.exchange ? { reply: r.exchange.reply, server: r.exchange.server, proto: r.exchange.proto, elapsedNs: r.exchange.elapsedNs } : { failures: r.failures };
    });
  }
  const deadline = w.clock.now + 60e9;
  while (text === null && w.clock.now < deadline) if (w.clock.run(Math.min(deadline, w.clock.now + 100e6)) === 'idle') break;
  writer?.close();
  if (text === null) text = printDigFailure(argv, server !== undefined, srv, 53, ['timed out']);
  out(o.json ? JSON.stringify(json, null, 2) + '\n' : text);
  return text.includes('connection timed out') || text.includes('communications error') ? EXIT_NOT_DELIVERED : EXIT_OK;
}
