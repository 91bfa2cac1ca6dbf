/**
 * proxy.CategorizeEndpoints (pkg/proxy/topology.go): which endpoints Cluster and Local
 * traffic policy use on this node, with the fallback to serving+terminating endpoints and
 * topology hints (PreferSameNode, PreferSameZone).
 */
import type { EndpointInfo } from './endpoints.js';
import { usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './service-port.js';

export interface Categorized {
  clusterEndpoints: EndpointInfo[];
  localEndpoints: EndpointInfo[];
  allReachableEndpoints: EndpointInfo[];
  hasAnyEndpoints: boolean;
}

export interface TopologyOptions {
  nodeName: string;
  /** The node's labels (topology.kubernetes.io/zone). */
  nodeLabels?: Record<string, string>;
  preferSameTrafficDistribution?: boolean;
}

type Mode = '' | 'PreferSameNode' | 'PreferSameZone';

function topologyModeFromHints(endpoints: readonly EndpointInfo[], nodeName: string, zone: string, sameNodeGate: boolean): Mode {
  let hasForNode = false;
  let allNode = true;
  let hasForZone = false;
  let allZone = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (ep.nodeHints === undefined || ep.nodeHints.length === 0) allNode = false;
    else if (ep.nodeHints.includes(nodeName)) hasForNode = true;
    if (ep.zoneHints === undefined || ep.zoneHints.length === 0) allZone = false;
    else if (ep.zoneHints.includes(zone)) hasForZone = true;
  }
  if (sameNodeGate && allNode && hasForNode) return 'PreferSameNode';
  if (allZone && hasForZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: EndpointInfo, mode: Mode, nodeName: string, zone: string): boolean {
  switch (mode) {
    case '':
      return true;
    case 'PreferSameNode':
      return ep.nodeHints?.includes(nodeName) ?? false;
    case 'PreferSameZone':
      return ep.zoneHints?.includes(zone) ?? false;
  }
}

export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[],
  svc: ServicePortInfo,
  opts: TopologyOptions,
): Categorized {
  let mode: Mode = '';
  let useServingTerminating = false;
  let clusterEndpoints: EndpointInfo[] = [];
  let localEndpoints: EndpointInfo[] = [];
  let hasAny = false;
  const zone = opts.nodeLabels?.['topology.kubernetes.io/zone'] ?? '';
  const gate = opts.preferSameTrafficDistribution ?? true;

  if (usesClusterEndpoints(svc)) {
    mode = topologyModeFromHints(endpoints, opts.nodeName, zone, gate);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, mode, opts.nodeName, zone));
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAny = true;
  }
  if (!usesLocalEndpoints(svc)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints: hasAny };
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAny = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAny = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }
  if (!usesClusterEndpoints(svc)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints: hasAny };
  }
  if (mode === '' && !useServingTerminating) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints: hasAny };
  }
  // Union of the two lists. Upstream builds it from a Go map (random order); sorting by
  // "ip:port" keeps the output deterministic and matches the per-service sorted order.
  const merged = new Map<string, EndpointInfo>();
  for (const ep of clusterEndpoints) merged.set(ep.endpoint, ep);
  for (const ep of localEndpoints) merged.set(ep.endpoint, ep);
  const all = [...merged.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  return { clusterEndpoints, localEndpoints, allReachableEndpoints: all, hasAnyEndpoints: hasAny };
}
