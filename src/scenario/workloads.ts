import type { SocketLayer } from '../linux/sock/stack.js';
import type { Runtime } from './runtime.js';

const enc = new TextEncoder();

/**
 * The processes a scenario's pods and hosts run: every declared container port gets a
 * listener that answers with who it is (pod name and IP), TCP and UDP alike, and node/host
 * `serve` ports likewise. CoreDNS, ingress and HTTP servers replace these where they apply.
 */
export function startWorkloads(rt: Runtime): void {
  for (const p of rt.world.pods.values()) {
    const who = `${p.pod.metadata.namespace}/${p.pod.metadata.name} ${p.pod.status?.podIP ?? ''}`;
    for (const c of p.pod.spec.containers) {
      for (const port of c.ports ?? []) {
        if (p.pod.spec.hostNetwork && rt.world.machines.get(p.node.name)?.sockets !== p.sockets) continue;
        listen(p.sockets, port.protocol ?? 'TCP', port.containerPort, who);
      }
    }
  }
  const spec = rt.state.cluster.spec;
  for (const m of [...spec.nodes, ...spec.externalHosts]) {
    const machine = rt.world.machines.get(m.name);
    if (!machine || !m.serve) continue;
    const ports = (v: number | number[] | undefined): number[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    for (const port of [...ports(m.serve.http), ...ports(m.serve.tcp)]) listen(machine.sockets, 'TCP', port, `${m.name} ${m.ip}`);
    for (const port of ports(m.serve.udp)) listen(machine.sockets, 'UDP', port, `${m.name} ${m.ip}`);
  }
}

function listen(s: SocketLayer, proto: string, port: number, who: string): void {
  try {
    if (proto === 'UDP') {
      const u = s.udp();
      u.bind(port);
      u.onMessage = (_d, from) => u.sendto(enc.encode(`${who}\n`), from.addr, from.port);
    } else if (proto === 'TCP') {
      s.tcpListen(port, () => ({
        onData: (c) => {
          c.write(enc.encode(`${who}\n`));
          c.end();
        },
        onEnd: (c) => c.close(),
      }));
    }
  } catch {
    // Two containers declaring one port: the second bind fails as it would (EADDRINUSE).
  }
}
