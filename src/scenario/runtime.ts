import { planDnatLb, type DnatLbPlan } from '../apps/lb/dnat.js';
import type { ExternalHost } from '../k8s/api/cluster.js';
import { buildClusterState, type ClusterState } from '../k8s/controllers/cluster-state.js';
import { SERVICE_NAME } from '../k8s/controllers/endpointslice.js';
import { buildWorld } from '../k8s/cluster/build.js';
import { NetfilterIptables } from '../k8s/cluster/iptables-backend.js';
import type { World } from '../k8s/cluster/world.js';
import { parseIpv4 } from '../wire/ipv4-address.js';
import type { Scenario } from './load.js';
import { startWorkloads, type Workloads } from './workloads.js';

/** A scenario brought to life: the control plane's state and the programmed Linux world. */
export interface Runtime {
  readonly scenario: Scenario;
  readonly state: ClusterState;
  readonly world: World;
  readonly apps: Workloads;
  /** The load balancers in `mode: dnat`, by host name: what was programmed and why. */
  readonly dnatLoadBalancers: Map<string, DnatLbPlan>;
}

export function startRuntime(scenario: Scenario): Runtime {
  const state = buildClusterState(scenario.cluster, scenario.manifests.map((m) => m.object));
  assignLoadBalancerIngress(state);
  const world = buildWorld(state);
  const rt = { scenario, state, world, apps: { ingress: new Map(), loadBalancers: new Map(), dns: new Map() }, dnatLoadBalancers: new Map() } as Runtime;
  for (const h of state.cluster.spec.externalHosts) {
    if (h.loadBalancer?.mode !== 'dnat') continue;
    const plan = dnatPlanFor(rt, h);
    if (plan) applyDnatPlan(rt, h, plan);
  }
  Object.assign(rt, { apps: startWorkloads(rt) });
  // Let the agents' work and the processes settle before anything is sent.
  world.run(1e6);
  return rt;
}

/**
 * A `type: LoadBalancer` Service fronted by an LB host gets the host's address as its
 * ingress IP, as a cloud controller manager writes status.loadBalancer. ipMode Proxy
 * (KEP-1860): in both LB modes the packets reach the nodes addressed to their NodePorts,
 * never to the LB address, so kube-proxy must not claim it (in ipvs mode it would bind it
 * to kube-ipvs0, and the nodes could no longer reach the LB). A status given in the
 * scenario is kept.
 */
function assignLoadBalancerIngress(state: ClusterState): void {
  for (const h of state.cluster.spec.externalHosts) {
    if (!h.loadBalancer) continue;
    const [ns, name] = h.loadBalancer.service.split('/');
    const svc = state.services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
    if (!svc || svc.spec.type !== 'LoadBalancer' || svc.status?.loadBalancer?.ingress?.length) continue;
    svc.status = { ...(svc.status ?? {}), loadBalancer: { ingress: [{ ip: h.ip, ipMode: 'Proxy' }] } };
  }
}

/**
 * What a dnat-mode LB host does for its Service: the listeners (Service ports with a
 * NodePort, limited to `ports`), healthy nodes by externalTrafficPolicy and the ready
 * endpoints' nodes, and its clients: the external hosts that serve nothing and balance
 * nothing (the laptops), which the nodes route back through it.
 */
function dnatPlanFor(rt: Runtime, h: ExternalHost): DnatLbPlan | null {
  const lb = h.loadBalancer!;
  const [ns, name] = lb.service.split('/');
  const svc = rt.state.services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
  if (!svc) return null;
  const spec = rt.state.cluster.spec;
  const withEndpoints = new Set<string>();
  for (const sl of rt.state.endpointSlices) {
    if (sl.metadata.namespace !== ns || sl.metadata.labels?.[SERVICE_NAME] !== name) continue;
    for (const e of sl.endpoints) if (e.nodeName !== undefined && e.conditions?.ready !== false) withEndpoints.add(e.nodeName);
  }
  return planDnatLb({
    name: h.name,
    addr: parseIpv4(h.ip),
    service: lb.service,
    listeners: (svc.spec.ports ?? []).filter((p) => p.nodePort !== undefined && (p.protocol ?? 'TCP') === 'TCP' && (!lb.ports || lb.ports.includes(p.port))).map((p) => ({ port: p.port, nodePort: p.nodePort! })),
    nodes: spec.nodes.map((n) => ({ node: n.name, addr: parseIpv4(n.ip) })),
    externalTrafficPolicy: svc.spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    nodesWithEndpoints: withEndpoints,
    ...(svc.spec.healthCheckNodePort !== undefined ? { healthCheckNodePort: svc.spec.healthCheckNodePort } : {}),
    clients: spec.externalHosts.filter((x) => x !== h && !x.serve && !x.loadBalancer).map((x) => parseIpv4(x.ip)),
  });
}

/** Programs the plan through the action log: the LB host's sysctl and nat rules, the nodes' return routes. */
function applyDnatPlan(rt: Runtime, h: ExternalHost, plan: DnatLbPlan): void {
  const w = rt.world;
  const m = w.machines.get(h.name)!;
  const agent = 'lb';
  for (const [k, v] of plan.sysctls) w.log.sysctl(m.root, agent, k, v);
  const ipt = w.iptables.get(m.root) ?? NetfilterIptables.forNetns(m.root, w.log, agent);
  w.iptables.set(m.root, ipt);
  ipt.restore(plan.restore, { noflush: true });
  for (const r of plan.nodeRoutes) w.log.ip(w.machines.get(r.node)!.root, `lb/${h.name}`, r.cmd);
  rt.dnatLoadBalancers.set(h.name, plan);
}
