// Where a scenario's processes run: scenario/workloads.ts's servers are started, unchanged,
// by app-host.ts in each namespace that has some.
import type { Runtime } from '../scenario/runtime.js';
import { realNs } from './plan.js';

export interface Listener {
  readonly ns: string;
  readonly proto: 'TCP' | 'UDP';
  readonly port: number;
  readonly who: string;
}

/** The namespaces where scenario/workloads.ts starts something (pods with ports, hosts that serve). */
export function serverNamespaces(rt: Runtime, prefix: string): { machine: string; netns: string; real: string }[] {
  const out = new Map<string, { machine: string; netns: string; real: string }>();
  const add = (machine: string, netns: string): void => void out.set(`${machine}/${netns}`, { machine, netns, real: realNs(prefix, machine, netns) });
  for (const p of rt.world.pods.values()) if (p.pod.spec.containers.some((c) => (c.ports ?? []).length > 0)) add(p.netns.node, p.netns.netns);
  const spec = rt.state.cluster.spec;
  for (const m of [...spec.nodes, ...spec.externalHosts]) {
    if ((m.serve || ('loadBalancer' in m && m.loadBalancer)) && rt.world.machines.has(m.name)) add(m.name, 'root');
  }
  return [...out.values()];
}

/** What scenario/workloads.ts starts, by real namespace (for the report). */
export function listenersOf(rt: Runtime, prefix: string): Listener[] {
  const out: Listener[] = [];
  const seen = new Set<string>();
  const add = (ns: string, proto: string, port: number, who: string): void => {
    if (proto !== 'TCP' && proto !== 'UDP') return;
    const key = `${ns}/${proto}/${port}`;
    // A second bind of one port fails in the model too (EADDRINUSE): the first one answers.
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ns, proto, port, who });
  };
  for (const p of rt.world.pods.values()) {
    const who = `${p.pod.metadata.namespace}/${p.pod.metadata.name} ${p.pod.status?.podIP ?? ''}`;
    for (const c of p.pod.spec.containers) {
      for (const port of c.ports ?? []) {
        if (p.pod.spec.hostNetwork && rt.world.machines.get(p.node.name)?.sockets !== p.sockets) continue;
        add(realNs(prefix, p.netns.node, p.netns.netns), port.protocol ?? 'TCP', port.containerPort, who);
      }
    }
  }
  const spec = rt.state.cluster.spec;
  const ports = (v: number | number[] | undefined): number[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  for (const m of [...spec.nodes, ...spec.externalHosts]) {
    if (!m.serve || !rt.world.machines.has(m.name)) continue;
    const ns = realNs(prefix, m.name, 'root');
    for (const port of [...ports(m.serve.http), ...ports(m.serve.tcp)]) add(ns, 'TCP', port, `${m.name} ${m.ip}`);
    for (const port of ports(m.serve.udp)) add(ns, 'UDP', port, `${m.name} ${m.ip}`);
  }
  return out;
}
