/**
 * kube-proxy's view of EndpointSlices, as pkg/proxy/endpointslicecache.go and endpoint.go
 * build it: per ServicePortName, the endpoints of every slice of the service, deduplicated
 * by "ip:port" (a non-terminating copy wins), IPs canonicalised, sorted by the string
 * "ip:port" (so 10.1.1.11:11 sorts before 10.1.1.1:11).
 */
import type { Endpoint as ApiEndpoint, EndpointSlice, Protocol } from '../api/types.js';
import { endpointChain } from './chain-names.js';
import { ipString, joinHostPort, parseIpv4Sloppy, type IpFamily } from './ip.js';
import { servicePortKey, servicePortNameString, type ServicePortName } from './service-port.js';

/** discovery/v1 EndpointHints (not in api/types.ts; read when present). */
export interface EndpointHints {
  forZones?: { name: string }[];
  forNodes?: { name: string }[];
}
export type EndpointWithHints = ApiEndpoint & { hints?: EndpointHints };

export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** "ip:port" (Endpoint.String()) */
  readonly endpoint: string;
  readonly isLocal: boolean;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly zoneHints: readonly string[] | undefined;
  readonly nodeHints: readonly string[] | undefined;
  /** KUBE-SEP-<hash> (pkg/proxy/iptables newEndpointInfo). */
  readonly chainName: string;
}

export interface EndpointTrackerOptions {
  family?: IpFamily;
  nodeName: string;
  /** PreferSameTrafficDistribution gate (node hints); on in recent releases. */
  preferSameTrafficDistribution?: boolean;
}

type SliceData = { slice: EndpointSlice; remove: boolean };

/** EndpointsChangeTracker + EndpointSliceCache + EndpointsMap. */
export class EndpointsTracker {
  private readonly applied = new Map<string, Map<string, EndpointSlice>>(); // svc ns/name -> slice name -> slice
  private readonly pending = new Map<string, Map<string, SliceData>>();
  /** servicePortKey -> sorted endpoints. */
  readonly endpointsMap = new Map<string, EndpointInfo[]>();
  readonly family: IpFamily;
  readonly nodeName: string;
  readonly preferSameTrafficDistribution: boolean;

  constructor(opts: EndpointTrackerOptions) {
    this.family = opts.family ?? 'IPv4';
    this.nodeName = opts.nodeName;
    this.preferSameTrafficDistribution = opts.preferSameTrafficDistribution ?? true;
  }

  /** EndpointSliceUpdate(slice, remove); true when something is pending. */
  sliceUpdate(slice: EndpointSlice, remove: boolean): boolean {
    if (slice.addressType !== this.family) return false;
    const svcName = slice.metadata.labels?.['kubernetes.io/service-name'];
    const ns = slice.metadata.namespace ?? '';
    if (svcName === undefined || svcName === '' || ns === '' || slice.metadata.name === '') return false;
    const key = `${ns}/${svcName}`;
    const sliceKey = slice.metadata.name;
    const data: SliceData = { slice: structuredClone(slice), remove };
    const pend = this.pending.get(key);
    const pendingData = pend?.get(sliceKey);
    const appliedData = this.applied.get(key)?.get(sliceKey);
    let changed: boolean;
    if (pendingData !== undefined) changed = JSON.stringify(pendingData) !== JSON.stringify(data);
    else if (appliedData !== undefined) changed = JSON.stringify({ slice: appliedData, remove: false }) !== JSON.stringify(data);
    else changed = !remove;
    if (changed) {
      if (pend === undefined) this.pending.set(key, new Map([[sliceKey, data]]));
      else pend.set(sliceKey, data);
    }
    return this.hasPending();
  }

  hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Applies pending slices; answers the namespaced names whose slices changed. */
  checkout(): { updatedServices: Set<string> } {
    const updated = new Set<string>();
    for (const [svcKey, slices] of this.pending) {
      const previous = this.endpointsFor(svcKey);
      let applied = this.applied.get(svcKey);
      if (applied === undefined) {
        applied = new Map();
        this.applied.set(svcKey, applied);
      }
      for (const [name, d] of slices) {
        if (d.remove) applied.delete(name);
        else applied.set(name, d.slice);
      }
      if (applied.size === 0) this.applied.delete(svcKey);
      for (const k of previous.keys()) this.endpointsMap.delete(k);
      for (const [k, v] of this.endpointsFor(svcKey)) this.endpointsMap.set(k, v);
      updated.add(svcKey);
    }
    this.pending.clear();
    return { updatedServices: updated };
  }

  /** Endpoints currently applied for one service, per servicePortKey. */
  private endpointsFor(svcKey: string): Map<string, EndpointInfo[]> {
    const out = new Map<string, EndpointInfo[]>();
    const slices = this.applied.get(svcKey);
    if (slices === undefined) return out;
    const slash = svcKey.indexOf('/');
    const namespace = svcKey.slice(0, slash);
    const name = svcKey.slice(slash + 1);
    const bySp = new Map<string, Map<string, EndpointInfo>>();
    for (const slice of slices.values()) {
      for (const port of slice.ports ?? []) {
        if (port.name === undefined) continue; // upstream: port with nil name is ignored
        if (port.port === undefined || port.port === 0) continue;
        const spn: ServicePortName = { namespace, name, port: port.name, protocol: (port.protocol ?? 'TCP') as Protocol };
        const k = servicePortKey(spn);
        let set = bySp.get(k);
        if (set === undefined) {
          set = new Map();
          bySp.set(k, set);
        }
        this.addEndpoints(spn, port.port, set, slice.endpoints as EndpointWithHints[]);
      }
    }
    for (const [k, set] of bySp) {
      if (set.size === 0) continue;
      const list = [...set.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
      out.set(k, list);
    }
    return out;
  }

  private addEndpoints(spn: ServicePortName, portNum: number, set: Map<string, EndpointInfo>, eps: EndpointWithHints[]): void {
    const spnString = servicePortNameString(spn);
    const proto = spn.protocol.toLowerCase();
    for (const ep of eps) {
      const first = ep.addresses[0];
      if (first === undefined) continue;
      const isLocal = ep.nodeName !== undefined && this.nodeName.length > 0 && ep.nodeName === this.nodeName;
      const c = ep.conditions ?? {};
      const ready = c.ready === undefined || c.ready;
      const serving = c.serving === undefined || c.serving;
      const terminating = c.terminating === true;
      let zoneHints: string[] | undefined;
      let nodeHints: string[] | undefined;
      if (ep.hints !== undefined) {
        if ((ep.hints.forZones?.length ?? 0) > 0) zoneHints = ep.hints.forZones!.map((z) => z.name);
        if ((ep.hints.forNodes?.length ?? 0) > 0 && this.preferSameTrafficDistribution) {
          nodeHints = ep.hints.forNodes!.map((n) => n.name);
        }
      }
      const a = parseIpv4Sloppy(first);
      // The API server validates addresses; one that still does not parse is skipped rather
      // than written into a rule that iptables-restore would refuse.
      if (a === undefined) continue;
      const ip = ipString(a);
      const endpoint = joinHostPort(ip, portNum);
      const info: EndpointInfo = {
        ip,
        port: portNum,
        endpoint,
        isLocal,
        ready,
        serving,
        terminating,
        zoneHints,
        nodeHints,
        chainName: endpointChain(spnString, proto, endpoint),
      };
      if (!set.has(endpoint) || !terminating) set.set(endpoint, info);
    }
  }
}
