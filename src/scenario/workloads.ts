import { streamsFor } from '../apps/http/socket-adapter.js';
import { startEchoServer } from '../apps/http/echo.js';
import { startRedirectServer } from '../apps/http/static.js';
import { IngressNginx } from '../apps/ingress/nginx.js';
import { L4LoadBalancer } from '../apps/lb/l4-proxy.js';
import type { SocketLayer } from '../linux/sock/stack.js';
import type { Pod } from '../k8s/api/types.js';
import { parseIpv4 } from '../wire/ipv4-address.js';
import type { Runtime } from './runtime.js';
import { startCoreDns, startZoneServer, type DnsServerProcess } from './dns-apps.js';

const enc = new TextEncoder();

/** The processes a runtime started, for traces and tests. */
export interface Workloads {
  readonly ingress: Map<string, IngressNginx>;
  readonly loadBalancers: Map<string, L4LoadBalancer>;
  readonly dns: Map<string, DnsServerProcess>;
}

/** A CoreDNS pod of the cluster DNS (label k8s-app=kube-dns, or a coredns image). */
function isCoreDns(p: Pod): boolean {
  return p.metadata.labels?.['k8s-app'] === 'kube-dns' || p.spec.containers.some((c) => /(^|\/)coredns(:|$)/.test(c.image ?? ''));
}

/** The node's /etc/resolv.conf: the scenario's, else the outside DNS server's, else the gateway. */
export function nodeResolvConf(rt: Runtime, machine: string): string {
  const spec = rt.state.cluster.spec;
  const given = spec.nodes.find((n) => n.name === machine)?.resolvConf ?? spec.externalHosts.find((h) => h.name === machine)?.resolvConf;
  if (given !== undefined) return given;
  const dns = spec.externalHosts.find((h) => h.serve?.dns !== undefined);
  return `nameserver ${dns?.ip ?? spec.underlay.gateway}\n`;
}

/** An ingress-nginx controller pod, by its image or labels (the DaemonSet/Deployment of the scenario). */
function isIngressController(p: Pod): boolean {
  const labels = p.metadata.labels ?? {};
  return (
    p.spec.containers.some((c) => /ingress-nginx|nginx-ingress/.test(c.image ?? '')) ||
    labels['app.kubernetes.io/name'] === 'ingress-nginx' ||
    labels.app === 'ingress-nginx'
  );
}

/**
 * The processes a scenario's pods and hosts run: ingress-nginx in its controller pods, an
 * HTTP echo server (pod name, IP, the request it saw) on every other declared TCP container
 * port and node `serve` port, a UDP echo on UDP ports, the external hosts' HTTP servers (a
 * 301 redirect like the seed's xxx.com) and the external load balancer.
 */
export function startWorkloads(rt: Runtime): Workloads {
  const w = rt.world;
  const clock = w.clock;
  const out: Workloads = { ingress: new Map(), loadBalancers: new Map(), dns: new Map() };
  const rng = w.rng.fork('apps');
  for (const [key, p] of w.pods) {
    const ip = p.pod.status?.podIP ?? p.node.ip;
    if (isIngressController(p.pod)) {
      const s = streamsFor(p.sockets);
      const nginx = new IngressNginx({ ...s, clock, rng: rng.fork(`ingress:${key}`), trace: w.appTrace as never, node: p.node.name, netns: p.netns.netns }, { upstreamKeepaliveConnections: 0 });
      nginx.sync({ ingresses: rt.state.ingresses, ingressClasses: rt.state.ingressClasses, services: rt.state.services, endpointSlices: rt.state.endpointSlices });
      nginx.start();
      out.ingress.set(key, nginx);
      continue;
    }
    if (isCoreDns(p.pod)) {
      out.dns.set(key, startCoreDns(w, rt.state, p.sockets, { node: p.node.name, netns: p.netns.netns, ip, nodeResolvConf: nodeResolvConf(rt, p.node.name) }));
      continue;
    }
    for (const c of p.pod.spec.containers) {
      for (const port of c.ports ?? []) {
        if ((port.protocol ?? 'TCP') === 'UDP') udpEcho(p.sockets, port.containerPort, `${p.pod.metadata.namespace}/${p.pod.metadata.name} ${ip}`);
        else tryListen(() => startEchoServer(streamsFor(p.sockets).listener, port.containerPort, { name: p.pod.metadata.name, ip: parseIpv4(ip), clock }));
      }
    }
  }
  const spec = rt.state.cluster.spec;
  const ports = (v: number | number[] | undefined): number[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  for (const n of spec.nodes) {
    const m = w.machines.get(n.name);
    if (!m || !n.serve) continue;
    // A plain process on the node (the seed's laosiji backend on .86:6666), named as its host.
    for (const port of [...ports(n.serve.http), ...ports(n.serve.tcp)]) tryListen(() => startEchoServer(streamsFor(m.sockets).listener, port, { name: `k8s-${n.name.replace(/\./g, '-')}`, ip: parseIpv4(n.ip), clock }));
    for (const port of ports(n.serve.udp)) udpEcho(m.sockets, port, `${n.name} ${n.ip}`);
  }
  for (const h of spec.externalHosts) {
    const m = w.machines.get(h.name)!;
    for (const port of ports(h.serve?.http)) tryListen(() => startRedirectServer(streamsFor(m.sockets).listener, port, { serverName: 'TLB', defaultHost: h.name, clock }));
    for (const port of ports(h.serve?.tcp)) tryListen(() => startEchoServer(streamsFor(m.sockets).listener, port, { name: h.name, ip: parseIpv4(h.ip), clock }));
    for (const port of ports(h.serve?.udp)) udpEcho(m.sockets, port, `${h.name} ${h.ip}`);
    if (h.serve?.dns !== undefined) out.dns.set(`host/${h.name}`, startZoneServer(w, m.sockets, { name: h.name, ip: h.ip, zone: h.zone ?? {}, port: h.serve.dns }));
    // A dnat-mode LB forwards in its kernel (runtime.ts programs it): no proxy process.
    if (h.loadBalancer && h.loadBalancer.mode !== 'dnat') {
      const [ns, name] = h.loadBalancer.service.split('/');
      const svc = rt.state.services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
      if (!svc) continue;
      const listeners = (svc.spec.ports ?? [])
        .filter((sp) => sp.nodePort !== undefined && (!h.loadBalancer!.ports || h.loadBalancer!.ports.includes(sp.port)))
        .map((sp) => ({ port: sp.port, targets: spec.nodes.map((n) => ({ node: n.name, addr: parseIpv4(n.ip), port: sp.nodePort! })) }));
      const lb = new L4LoadBalancer({ ...streamsFor(m.sockets), clock, rng: rng.fork(`lb:${h.name}`), trace: w.appTrace as never, node: h.name, netns: 'root' }, listeners);
      lb.start();
      out.loadBalancers.set(h.name, lb);
    }
  }
  return out;
}

function tryListen(f: () => void): void {
  try {
    f();
  } catch {
    // Two processes on one port: the second bind fails (EADDRINUSE), as it would.
  }
}

function udpEcho(s: SocketLayer, port: number, who: string): void {
  tryListen(() => {
    const u = s.udp();
    u.bind(port);
    u.onMessage = (_d, from) => u.sendto(enc.encode(`${who}\n`), from.addr, from.port);
  });
}
