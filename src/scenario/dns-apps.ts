import { CoreDns } from '../apps/coredns/server.js';
import { KubeStore } from '../apps/coredns/plugins/kubernetes/store.js';
import { Registry } from '../apps/coredns/plugins/prometheus/registry.js';
import type { SocketLayer } from '../linux/sock/stack.js';
import type { ConfigMap } from '../k8s/api/types.js';
import type { ClusterState } from '../k8s/controllers/cluster-state.js';
import type { World } from '../k8s/cluster/world.js';
import { dnsNet, listenStream, udpSocket } from './dns-net.js';

/** Unix time at simulated time 0 for every program's wall clock: the seed notes' capture time. */
export const EPOCH_SECONDS = 1722441583; // 2024-07-31T15:59:43Z

export interface DnsServerProcess {
  readonly server: CoreDns;
  readonly stdout: string[];
}

function listenDns(server: CoreDns, sockets: SocketLayer): void {
  for (const port of server.ports()) {
    server.serveUdp(udpSocket(sockets, port));
    listenStream(sockets, port, (c) => server.serveStream(c));
  }
}

/**
 * CoreDNS in one of its pods: the Corefile and the other keys of ConfigMap kube-system/coredns
 * as the files it is mounted with (/etc/coredns/KEY, and /etc/KEY for Corefiles that name a
 * file there, as the seed's `hosts /etc/add_hosts`), the node's resolv.conf (dnsPolicy
 * Default), and a kubernetes store fed with what its informers would see.
 */
export function startCoreDns(w: World, state: ClusterState, sockets: SocketLayer, where: { node: string; netns: string; ip: string; nodeResolvConf: string }): DnsServerProcess {
  const cm = state.configMaps.find((c) => c.metadata.namespace === 'kube-system' && c.metadata.name === 'coredns') as ConfigMap;
  const data = cm.data ?? {};
  const files: Record<string, string> = { '/etc/resolv.conf': where.nodeResolvConf };
  for (const [k, v] of Object.entries(data)) {
    files[`/etc/coredns/${k}`] = v;
    files[`/etc/${k}`] = v;
  }
  const store = new KubeStore(() => EPOCH_SECONDS + w.clock.now / 1e9);
  for (const n of state.namespaces) store.upsert(n);
  for (const s of state.services) store.upsert(s);
  for (const e of state.endpointSlices) store.upsert(e);
  for (const p of state.pods) store.upsert(p);
  const stdout: string[] = [];
  const server = CoreDns.load(data.Corefile ?? '', {
    eq: w.clock,
    rng: w.rng.fork(`coredns:${where.node}/${where.netns}`),
    trace: w.appTrace as never,
    node: where.node,
    netns: where.netns,
    epochSeconds: EPOCH_SECONDS,
    files,
    k8s: store,
    net: dnsNet(sockets),
    localIPs: [where.ip],
    stdout: (l) => void stdout.push(l),
    metrics: new Registry(),
  }, { filename: 'Corefile' });
  listenDns(server, sockets);
  return { server, stdout };
}

/**
 * The scenario's outside DNS server (an external host with `zone` and `serve.dns`): a CoreDNS
 * serving one zone file per domain, authoritative, REFUSED for anything else.
 */
export function startZoneServer(w: World, sockets: SocketLayer, host: { name: string; ip: string; zone: Record<string, string>; port: number }): DnsServerProcess {
  const byApex = new Map<string, [string, string][]>();
  for (const [name, ip] of Object.entries(host.zone)) {
    const n = name.toLowerCase().replace(/\.$/, '');
    const apex = n.split('.').slice(-2).join('.');
    const list = byApex.get(apex) ?? [];
    list.push([n, ip]);
    byApex.set(apex, list);
  }
  const files: Record<string, string> = {};
  let corefile = '';
  for (const [apex, names] of [...byApex].sort(([a], [b]) => a.localeCompare(b))) {
    const rr = names.map(([n, ip]) => `${n === apex ? '@' : n.slice(0, -apex.length - 1)} IN A ${ip}`).join('\n');
    files[`/zones/db.${apex}`] = `$TTL 600\n@ IN SOA ns.${apex}. hostmaster.${apex}. 1 7200 1800 86400 60\n@ IN NS ns\nns IN A ${host.ip}\n${rr}\n`;
    corefile += `${apex}:${host.port} {\n    file /zones/db.${apex}\n}\n`;
  }
  const stdout: string[] = [];
  const server = CoreDns.load(corefile, {
    eq: w.clock,
    rng: w.rng.fork(`zone:${host.name}`),
    trace: w.appTrace as never,
    node: host.name,
    netns: 'root',
    epochSeconds: EPOCH_SECONDS,
    files,
    k8s: null,
    net: null,
    localIPs: [host.ip],
    stdout: (l) => void stdout.push(l),
    metrics: new Registry(),
  });
  listenDns(server, sockets);
  return { server, stdout };
}
