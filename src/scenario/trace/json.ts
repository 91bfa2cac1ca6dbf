import type { TraceEventBase } from '../../sim/trace.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';
import type { ExchangeResult } from './exchange.js';
import { packetOfSteps } from './packets.js';
import { frameSummaries } from './text.js';

/** An event as plain JSON: scalar fields kept, model objects (services, conns) left out. */
function plain(e: TraceEventBase): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (v === null || typeof v !== 'object') o[k] = v;
  return o;
}

/** The `--json` form of a trace; its schema is docs/trace-json.md. */
export function traceJson(r: ExchangeResult): Record<string, unknown> {
  const summaries = frameSummaries(r.steps);
  const packets = packetOfSteps(r.steps);
  const devices: Record<string, unknown>[] = [];
  const decisions: Record<string, unknown>[] = [];
  r.steps.forEach((st, i) => {
    if (st.type === 'frame') {
      devices.push({ time: st.time, node: st.node, netns: st.netns, dev: st.dev, direction: st.direction, length: st.bytes.length, packet: packets[i]!, summary: summaries[i]! });
    } else if (st.event.kind !== 'linux.rcv' && st.event.kind !== 'linux.xmit') {
      decisions.push({ ...plain(st.event), packet: packets[i]! });
    }
  });
  const nat = decisions.filter((d) => d.kind === 'nf.nat' || d.kind === 'ipvs.nat');
  // The chosen backend: where the first DNAT (iptables or IPVS) rewrote the address:port the
  // sender dialed; null when nothing translated it (a pod IP, or a proxy such as the LB).
  const dialed = `${formatIpv4(r.to.ip)}:${r.to.port ?? ''}`;
  let backend: string | null = null;
  for (const d of decisions) {
    const text = String(d.text ?? '');
    if (d.kind === 'nf.nat' && d.manip === 'DNAT' && d.how === 'apply' && d.from === dialed) backend = String(d.to);
    else if (d.kind === 'ipvs.nat' && d.direction === 'dnat' && text.startsWith(`DNAT ${dialed} -> `)) backend = text.slice(`DNAT ${dialed} -> `.length);
    if (backend) break;
  }
  return {
    from: { label: r.from.label, ip: r.from.ip, node: r.from.machine.name, netns: r.from.netns.netns },
    to: { label: r.to.label, ip: formatIpv4(r.to.ip), port: r.to.port ?? null },
    proto: r.proto,
    verdict: r.delivered ? 'delivered' : 'not-delivered',
    reason: r.reason,
    response: r.response,
    backend,
    devices,
    decisions,
    nat,
  };
}
