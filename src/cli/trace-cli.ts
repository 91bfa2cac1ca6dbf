import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileSink } from '../pcap/file-sink.js';
import { PcapngWriter } from '../pcap/pcapng-writer.js';
import { EndpointError, resolvePlace } from '../scenario/endpoints.js';
import { startRuntime, type Runtime } from '../scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult, type Proto, type Step } from '../scenario/trace/exchange.js';
import { traceJson } from '../scenario/trace/json.js';
import { describeEvent, formatTraceText } from '../scenario/trace/text.js';
import { packetOfSteps } from '../scenario/trace/packets.js';
import type { TraceEventBase } from '../sim/trace.js';
import { EXIT_NOT_DELIVERED, EXIT_OK, InputError } from './errors.js';
import { loadScenario } from './scenario-arg.js';

export interface TraceCliOptions {
  from: string;
  to: string;
  proto: string;
  pcap?: string;
  json?: boolean;
  verbose?: boolean;
  set: string[];
}

const PROTOS: readonly Proto[] = ['tcp', 'udp', 'icmp'];

/** Writes the frames of some exchanges to one pcapng, each commented with the step it shows. */
export function writePcap(path: string, results: readonly ExchangeResult[], comment: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const w = new PcapngWriter(new FileSink(path), { comment });
  let offset = 0;
  for (const r of results) {
    // Each flow of `run` starts a fresh cluster at time 0: lay them end to end.
    // The comment of a frame sent: the last decision about the same packet in that namespace.
    const last = new Map<string, string>();
    const packets = packetOfSteps(r.steps);
    r.steps.forEach((st, i) => {
      if (st.type === 'event') {
        const d = describeEvent(st.event as TraceEventBase & Record<string, unknown>, false);
        if (d) last.set(`${st.event.node}/${st.event.netns}/${packets[i]}`, d.replace(/\s+/g, ' '));
        return;
      }
      const why = last.get(`${st.node}/${st.netns}/${packets[i]}`);
      w.frame(st.iface, st.time + offset, st.bytes, st.direction, `${r.from.label} -> ${r.to.label} ${r.proto}: packet ${packets[i]} ${st.direction === 'out' ? 'sent' : 'received'} on ${st.dev}${st.direction === 'out' && why ? `; ${why}` : ''}`);
    });
    const end = r.steps.reduce((t, st) => Math.max(t, st.type === 'frame' ? st.time : st.event.time), 0);
    offset += end + 1_000_000;
  }
  w.close();
}

function exchange(rt: Runtime, from: string, to: string, proto: Proto): ExchangeResult {
  try {
    return runExchange(rt, resolvePlace(rt, from), resolveTarget(rt, to), proto);
  } catch (e) {
    if (e instanceof EndpointError) throw new InputError(`kubewire trace: ${e.message}`);
    throw e;
  }
}

export function traceCommand(scenario: string | undefined, o: TraceCliOptions, out: (s: string) => void): number {
  if (!PROTOS.includes(o.proto as Proto)) throw new InputError(`kubewire trace: --proto must be tcp, udp or icmp, not "${o.proto}"`);
  const rt = startRuntime(loadScenario(scenario, o.set));
  const r = exchange(rt, o.from, o.to, o.proto as Proto);
  if (o.pcap) writePcap(o.pcap, [r], `kubewire trace --from ${o.from} --to ${o.to} --proto ${o.proto}`);
  out(o.json ? JSON.stringify(traceJson(r), null, 2) + '\n' : formatTraceText(r, o.verbose ?? false));
  return r.delivered ? EXIT_OK : EXIT_NOT_DELIVERED;
}

/** Path of a result in one line: every device that sent a frame, in the order first seen. */
function pathLine(steps: readonly Step[]): string {
  const hops: string[] = [];
  for (const st of steps) {
    if (st.type !== 'frame' || st.direction !== 'out') continue;
    const h = `${st.node}/${st.netns}/${st.dev}`;
    if (!hops.includes(h)) hops.push(h);
  }
  return hops.join(' > ');
}

/** Sends the scenario's traffic list into one runtime (what `show --after-run` looks at). */
export function sendTraffic(rt: Runtime): ExchangeResult[] {
  const out: ExchangeResult[] = [];
  for (const item of rt.scenario.cluster.spec.traffic) {
    try {
      out.push(runExchange(rt, resolvePlace(rt, item.from), resolveTarget(rt, item.to), item.proto ?? 'tcp'));
    } catch (e) {
      if (!(e instanceof EndpointError)) throw e;
    }
  }
  return out;
}

export function runCommand(scenario: string | undefined, o: Omit<TraceCliOptions, 'from' | 'to' | 'proto'>, out: (s: string) => void): number {
  const s = loadScenario(scenario, o.set);
  const results: ExchangeResult[] = [];
  const lines: string[] = [];
  let failed = 0;
  for (const item of s.cluster.spec.traffic) {
    const proto = item.proto ?? 'tcp';
    // Each flow starts from the same freshly built cluster, as `kubewire trace` would.
    const rt = startRuntime(s);
    let r: ExchangeResult;
    try {
      r = runExchange(rt, resolvePlace(rt, item.from), resolveTarget(rt, item.to), proto);
    } catch (e) {
      if (!(e instanceof EndpointError)) throw e;
      failed++;
      lines.push(`SKIP  ${item.from} -> ${item.to} ${proto}: ${e.message}`);
      continue;
    }
    results.push(r);
    if (!r.delivered) failed++;
    lines.push(`${r.delivered ? 'OK  ' : 'FAIL'}  ${item.from} -> ${item.to} ${proto}: ${r.delivered ? `answered "${(r.response ?? '').trim()}"` : r.reason}`);
    lines.push(`      path: ${pathLine(r.steps)}`);
  }
  if (o.pcap) writePcap(o.pcap, results, `kubewire run ${scenario ?? '(default scenario)'}`);
  if (o.json) out(JSON.stringify(results.map(traceJson), null, 2) + '\n');
  else out(lines.join('\n') + '\n' + (o.pcap ? `wrote ${o.pcap}\n` : ''));
  return failed ? EXIT_NOT_DELIVERED : EXIT_OK;
}
