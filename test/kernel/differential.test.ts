// The differential suite (issue 11): every scenario built twice, in the model and in real
// network namespaces, and compared. Known differences are listed narrowly, each with the
// reason; docs/kernel-mode.md "Known differences" has the diffs.
import { missing } from '../helpers/tools.js';
import type { KnownDifference } from '../../src/kernel/diff.js';
import { describe } from 'vitest';
import { GATEWAY } from '../../src/k8s/cluster/build.js';
import { differential } from './suite.js';

const why = missing({ root: true, tools: ['ip', 'bridge', 'iptables-restore', 'iptables-save', 'tcpdump', 'conntrack', 'python3', 'ping', 'ss'] });

/**
 * Known model/kernel differences to let through, each a narrow line pattern with a reason.
 * A CoreDNS pod learns its node's address (from the node's ARP request, sent from the node's
 * primary address) only once some DNS query was forwarded to it; which CoreDNS pod the
 * kernel's statistic DNAT picks for background lookups is random, the model's is seeded.
 */
const COREDNS_NEIGH: KnownDifference[] = [
  { item: /\/coredns-[a-z0-9]+-[a-z0-9]{5} ip neigh$/, op: '+', line: /^\S+ dev eth0 lladdr \S+ \(learned\)$/, why: 'which CoreDNS pod the kernel sends background queries to is random' },
  { item: /\/coredns-[a-z0-9]+-[a-z0-9]{5} ip neigh$/, op: '-', line: /^\S+ dev eth0 lladdr \S+ \(learned\)$/, why: 'which CoreDNS pod the model sends background queries to is seeded' },
];

describe.skipIf(why !== null)('differential', () => {
  differential(
    {
      tag: 'fl',
      file: 'scenarios/two-node-flannel.yaml',
      allow: COREDNS_NEIGH,
      exchanges: [
        { from: 'pod/default/client', to: '10.42.1.2:8080', proto: 'tcp', delivered: true },
        { from: 'pod/default/client', to: '10.42.1.2:5353', proto: 'udp', delivered: true },
        { from: 'pod/default/client', to: '203.0.113.10:80', proto: 'tcp', delivered: true },
        { from: 'pod/default/client', to: 'svc/default/echo:80', proto: 'tcp', delivered: true, anyOf: /^HTTP\/1\.1 200 OK \| Hostname: echo-5fb55d6bdc-(2lgg2|xb9tp)$/ },
      ],
    },
    'd',
  );

  differential(
    {
      tag: 'cn',
      file: 'test/fixtures/kernel/two-node-canal.yaml',
      // An operator's static route on the underlay gateway sends the pod network to node-a:
      // a pod address no pod has then loops node-b -> gateway -> node-a -> node-b, and a
      // full-size DF packet from outside meets flannel.1's 1450 on node-a.
      extra: (rt) => rt.world.log.ip(rt.world.machines.get(GATEWAY)!.root, 'operator', 'route add 10.42.0.0/16 via 192.168.4.86 dev eth0'),
      allow: COREDNS_NEIGH,
      exchanges: [
        { from: 'pod/default/client', to: 'svc/default/echo:80', proto: 'tcp', delivered: true },
        { from: 'pod/default/client', to: 'pod/default/server:5353', proto: 'udp', delivered: true },
        // A Service without endpoints: kube-proxy's REJECT.
        { from: 'pod/default/client', to: 'svc/default/empty:80', proto: 'tcp', delivered: false },
        // The routing loop: the echo request dies of TTL somewhere on the way round.
        { from: 'pod/default/server', to: '10.42.1.200', proto: 'icmp', delivered: false },
        // 1500-byte DF packet into a 1450 VXLAN: fragmentation needed from node-a.
        { from: 'host/web', to: 'pod/default/server', proto: 'icmp', pingSize: 1472, delivered: false },
      ],
    },
    'd',
  );

  // NodePort from outside: web (203.0.113.10, beyond the gateway) to each node's NodePort.
  differential(
    {
      tag: 'np',
      file: 'test/fixtures/kernel/nodeport-local.yaml',
      allow: COREDNS_NEIGH,
      exchanges: [
        // eTP Local on node-b, which has the endpoint: DNATed there, the client's address kept.
        { from: 'host/web', to: '192.168.4.87:30200', proto: 'tcp', delivered: true, sourcesAt: { iface: 'node-b/solo/eth0', direction: 'in', sources: ['203.0.113.10'] } },
        // eTP Cluster on node-a: masqueraded (to flannel.1's address, port --random-fully: the
        // echo body shows it) and sent over VXLAN to node-b.
        { from: 'host/web', to: '192.168.4.86:30100', proto: 'tcp', delivered: true, anyOf: /^HTTP\/1\.1 200 OK \| Hostname: solo$/, sourcesAt: { iface: 'node-b/solo/eth0', direction: 'in', sources: ['10.42.0.0'] } },
        // eTP Local on node-a, which has none: KUBE-EXT's drop, nothing reaches the pod. Last:
        // the model's client socket outlives runExchange's timeout and keeps retransmitting
        // its SYN into whatever exchange came next (the kernel's client process exits).
        { from: 'host/web', to: '192.168.4.86:30200', proto: 'tcp', delivered: false, timeout: 2.5, sourcesAt: { iface: 'node-b/solo/eth0', direction: 'in', sources: [] } },
      ],
    },
    'd',
  );

  // The default scenario (six nodes, Canal, ingress, external hosts) with kube-proxy in
  // iptables mode: this kernel has no IPVS.
  differential(
    {
      tag: 'sd',
      file: 'scenarios/seed.yaml',
      sets: ['kubeProxy.mode=iptables'],
      allow: COREDNS_NEIGH,
      exchanges: [
        // laosiji: hand-written Endpoints to the host process on .86:6666. The pod's address is
        // masqueraded with --random-fully on the way, and the echo body shows the source port:
        // its number of digits (random) changes the body's length, so the outcome only.
        { from: 'pod/k8s/k8s-xxx-648c86cd45-qbhj9', to: 'svc/default/laosiji:6666', proto: 'tcp', delivered: true, anyOf: /^HTTP\/1\.1 200 OK \| Hostname: k8s-192-168-4-86$/ },
        // Out to the internet through flannel's masquerade.
        { from: 'pod/k8s/k8s-xxx-648c86cd45-qbhj9', to: '122.14.236.25:80', proto: 'tcp', delivered: true },
        // Two endpoints chosen at random (statistic): the outcome only.
        { from: 'pod/k8s/k8s-xxx-648c86cd45-qbhj9', to: '10.43.199.15:18888', proto: 'tcp', delivered: true, anyOf: /^HTTP\/1\.1 200 OK/ },
      ],
    },
    'd',
  );
});
