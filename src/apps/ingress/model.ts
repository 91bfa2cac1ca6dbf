/**
 * The controller half of ingress-nginx: from Ingress, IngressClass, Service and
 * EndpointSlice objects to the nginx configuration it would render (servers, locations,
 * backends with their endpoints), as internal/ingress/controller/controller.go does it:
 *
 * - getDefaultUpstream: `upstream-default-backend` = the --default-backend-service
 *   endpoints, or 127.0.0.1:8181 (the built-in server whose `location /` returns 404);
 * - createUpstreams: one backend per `<namespace>-<service>-<port>`; its endpoints are the
 *   ready endpoints of the Service's EndpointSlices at the target port
 *   (getEndpointsFromSlices), or the single ClusterIP:port with `service-upstream: "true"`;
 * - createServers: the catch-all server `_` and one server per host, each with a root
 *   `location /` (Prefix) on the default backend; rules without a host go to `_`;
 * - getBackendServers: each path adds a location (same path and type: the first Ingress
 *   wins, except over a default-backend root); locations sorted by path, then by length,
 *   longest first; servers by hostname;
 * - updateServerLocations (location.go): a Prefix `/foo` becomes `location /foo/` plus an
 *   exact `location = /foo`, unless an Exact `/foo` exists or the location rewrites/uses
 *   regex;
 * - buildLocation / enforceRegexModifier (template.go): when any location of a server
 *   rewrites or uses regex, every location of that server is rendered `~* "^<path>"`.
 *
 * Ingresses are taken in the store's order: by creationTimestamp, ties by
 * `namespace/name` descending (sortIngressSlice).
 */
import type { EndpointSlice, HTTPIngressPath, Ingress, IngressBackend, IngressClass, Service, ServicePort } from '../../k8s/api/types.js';
import { parseAnnotations, type IngressAnnotations } from './annotations.js';
import { classifyIngress } from './ingress-class.js';
import type { IngressNginxOptions } from './options.js';

export const DEFAULT_UPSTREAM = 'upstream-default-backend';
export const DEFAULT_SERVER = '_';

export interface IngressInputs {
  readonly ingresses: readonly Ingress[];
  readonly ingressClasses: readonly IngressClass[];
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
}

export interface UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
  /** `namespace/name` of the endpoint's targetRef (the pod), when known. */
  readonly target: string | null;
  readonly nodeName: string | null;
}

export interface Backend {
  readonly name: string;
  /** `namespace/name`, or null for the built-in default backend. */
  readonly service: string | null;
  readonly port: string;
  readonly endpoints: readonly UpstreamEndpoint[];
  /** Endpoints are the Service's ClusterIP (service-upstream annotation). */
  readonly serviceUpstream: boolean;
  /** Why the backend has the endpoints it has (no Service, no ready endpoint, ...). */
  readonly note: string;
}

export type LocationKind = 'exact' | 'prefix' | 'regex';

export interface Location {
  /** The nginx location path (`/foo/` for Prefix `/foo`). */
  readonly path: string;
  readonly pathType: HTTPIngressPath['pathType'];
  /** The path as written in the Ingress. */
  readonly ingressPath: string;
  readonly kind: LocationKind;
  /** The location line as nginx.conf would have it: `location = /api/v1`. */
  readonly rendered: string;
  readonly isDefBackend: boolean;
  readonly backend: string;
  /** `namespace/name` of the Ingress this location came from. */
  readonly ingress: string | null;
  readonly service: string | null;
  readonly servicePort: string;
  readonly annotations: IngressAnnotations;
  /** Compiled `~*` pattern for regex locations. */
  readonly regex: RegExp | null;
}

export interface Server {
  readonly hostname: string;
  /** `server_name` as rendered (wildcards become a one-label regex, buildServerName). */
  readonly serverName: string;
  readonly nameRegex: RegExp | null;
  readonly locations: readonly Location[];
  readonly enforceRegex: boolean;
}

export interface IgnoredIngress {
  readonly ingress: string;
  readonly why: string;
}

export interface IngressConfiguration {
  readonly servers: readonly Server[];
  readonly backends: ReadonlyMap<string, Backend>;
  readonly ignored: readonly IgnoredIngress[];
}

const NO_ANNOTATIONS: IngressAnnotations = { rewriteTarget: '', useRegex: false, serviceUpstream: false };

function key(ns: string | undefined, name: string): string {
  return `${ns ?? 'default'}/${name}`;
}

function creationTime(ing: Ingress): string {
  return (ing.metadata as { creationTimestamp?: string }).creationTimestamp ?? '';
}

/** sortIngressSlice: oldest first; equal timestamps by namespace/name descending. */
export function sortIngresses(ings: readonly Ingress[]): Ingress[] {
  return [...ings].sort((a, b) => {
    const ta = creationTime(a);
    const tb = creationTime(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    const ka = key(a.metadata.namespace, a.metadata.name);
    const kb = key(b.metadata.namespace, b.metadata.name);
    return ka > kb ? -1 : ka < kb ? 1 : 0;
  });
}

function backendPort(b: NonNullable<IngressBackend['service']>): string {
  return b.port.number !== undefined ? String(b.port.number) : (b.port.name ?? '');
}

export function upstreamName(ns: string, b: NonNullable<IngressBackend['service']>): string {
  return `${ns}-${b.name}-${backendPort(b)}`;
}

const VALID_PATH = /^\/[A-Za-z0-9_\-/]*$/;

/** getEndpointsFromSlices for one Service port. */
export function endpointsFromSlices(svc: Service, sp: ServicePort, slices: readonly EndpointSlice[]): UpstreamEndpoint[] {
  const out: UpstreamEndpoint[] = [];
  const seen = new Set<string>();
  const svcName = svc.metadata.name;
  const ns = svc.metadata.namespace ?? 'default';
  const targetInt = typeof sp.targetPort === 'number' ? sp.targetPort : sp.targetPort === undefined ? sp.port : null;
  for (const eps of slices) {
    if ((eps.metadata.namespace ?? 'default') !== ns || eps.metadata.labels?.['kubernetes.io/service-name'] !== svcName) continue;
    if (eps.addressType !== 'IPv4') continue;
    const ports: number[] = [];
    if ((eps.ports ?? []).length === 0 && targetInt !== null) ports.push(targetInt);
    for (const p of eps.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP') continue;
      let port = 0;
      if (sp.name === undefined || sp.name === '') port = p.port ?? 0;
      else if (sp.name === p.name) port = p.port ?? 0;
      if (port === 0 && targetInt !== null) port = targetInt;
      if (port !== 0) ports.push(port);
    }
    for (const ep of eps.endpoints) {
      // an unset `ready` means ready (discovery/v1 EndpointConditions)
      if (ep.conditions?.ready === false) continue;
      for (const port of ports)
        for (const address of ep.addresses) {
          const hp = `${address}:${port}`;
          if (seen.has(hp)) continue;
          seen.add(hp);
          const tr = ep.targetRef;
          out.push({ address, port, target: tr?.name ? `${tr.namespace ?? ns}/${tr.name}` : null, nodeName: ep.nodeName ?? null });
        }
    }
  }
  return out;
}

interface MutableLocation {
  path: string;
  pathType: HTTPIngressPath['pathType'];
  ingressPath: string;
  isDefBackend: boolean;
  backend: string;
  ingress: string | null;
  service: string | null;
  servicePort: string;
  annotations: IngressAnnotations;
}

interface MutableServer {
  hostname: string;
  locations: MutableLocation[];
}

function needsRewrite(l: MutableLocation): boolean {
  return l.annotations.rewriteTarget !== '' && l.annotations.rewriteTarget !== l.path;
}

export function buildConfiguration(inputs: IngressInputs, opts: IngressNginxOptions): IngressConfiguration {
  const ignored: IgnoredIngress[] = [];
  const services = new Map(inputs.services.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
  const accepted: { ing: Ingress; anns: IngressAnnotations; ns: string }[] = [];
  for (const ing of sortIngresses(inputs.ingresses)) {
    const name = key(ing.metadata.namespace, ing.metadata.name);
    const d = classifyIngress(ing, inputs.ingressClasses, opts);
    if (!d.accepted) {
      ignored.push({ ingress: name, why: d.why });
      continue;
    }
    if (opts.strictValidatePathType) {
      const bad = (ing.spec.rules ?? []).flatMap((r) => r.http?.paths ?? []).find((p) => p.pathType !== 'ImplementationSpecific' && p.path !== undefined && p.path !== '' && !VALID_PATH.test(p.path));
      if (bad) {
        ignored.push({ ingress: name, why: `path ${bad.path} cannot be used with pathType ${bad.pathType}` });
        continue;
      }
    }
    accepted.push({ ing, anns: parseAnnotations(ing), ns: ing.metadata.namespace ?? 'default' });
  }

  // getDefaultUpstream
  const backends = new Map<string, Backend>();
  const builtIn: UpstreamEndpoint = { address: '127.0.0.1', port: opts.defaultServerPort, target: null, nodeName: null };
  let du: Backend = { name: DEFAULT_UPSTREAM, service: null, port: '', endpoints: [builtIn], serviceUpstream: false, note: 'built-in default backend (returns 404)' };
  if (opts.defaultBackendService !== null) {
    const svc = services.get(opts.defaultBackendService);
    const sp = svc?.spec.ports?.[0];
    const eps = svc && sp ? endpointsFromSlices(svc, sp, inputs.endpointSlices) : [];
    du = eps.length > 0
      ? { name: DEFAULT_UPSTREAM, service: opts.defaultBackendService, port: String(sp!.port), endpoints: eps, serviceUpstream: false, note: `--default-backend-service=${opts.defaultBackendService}` }
      : { ...du, note: `--default-backend-service=${opts.defaultBackendService} has no active endpoint: built-in 404 server` };
  }
  backends.set(DEFAULT_UPSTREAM, du);

  // createUpstreams
  const makeUpstream = (ns: string, b: NonNullable<IngressBackend['service']>, anns: IngressAnnotations): void => {
    const name = upstreamName(ns, b);
    if (backends.has(name)) return;
    const svcKey = `${ns}/${b.name}`;
    const svc = services.get(svcKey);
    const port = backendPort(b);
    if (!svc) {
      backends.set(name, { name, service: svcKey, port, endpoints: [], serviceUpstream: anns.serviceUpstream, note: `Service ${svcKey} does not exist` });
      return;
    }
    if (anns.serviceUpstream) {
      const cip = svc.spec.clusterIP;
      let p: number | null = b.port.number ?? null;
      if (p === null) p = svc.spec.ports?.find((x) => x.name === b.port.name)?.port ?? null;
      if (cip && cip !== 'None' && p !== null) {
        backends.set(name, { name, service: svcKey, port, endpoints: [{ address: cip, port: p, target: null, nodeName: null }], serviceUpstream: true, note: 'service-upstream: the ClusterIP' });
        return;
      }
    }
    // serviceEndpoints: the Service port this backend names (by number, targetPort or name)
    const sp = svc.spec.ports?.find((x) => String(x.port) === port || String(x.targetPort ?? x.port) === port || x.name === port);
    const eps = sp ? endpointsFromSlices(svc, sp, inputs.endpointSlices) : [];
    const note = !sp ? `Service ${svcKey} has no port ${port}` : eps.length === 0 ? `Service ${svcKey} does not have any active Endpoint` : `${eps.length} ready endpoint(s)`;
    backends.set(name, { name, service: svcKey, port, endpoints: eps, serviceUpstream: false, note });
  };
  for (const { ing, anns, ns } of accepted) {
    if (ing.spec.defaultBackend?.service) makeUpstream(ns, ing.spec.defaultBackend.service, anns);
    for (const r of ing.spec.rules ?? []) for (const p of r.http?.paths ?? []) if (p.backend.service) makeUpstream(ns, p.backend.service, anns);
  }

  // createServers
  const servers = new Map<string, MutableServer>();
  const root = (backend: string, ingress: string | null, anns: IngressAnnotations): MutableLocation => ({
    path: '/', pathType: 'Prefix', ingressPath: '/', isDefBackend: true, backend, ingress, service: null, servicePort: '', annotations: anns,
  });
  servers.set(DEFAULT_SERVER, { hostname: DEFAULT_SERVER, locations: [root(DEFAULT_UPSTREAM, null, NO_ANNOTATIONS)] });
  for (const { ing, anns, ns } of accepted) {
    const ingKey = key(ns, ing.metadata.name);
    let un = DEFAULT_UPSTREAM;
    const db = ing.spec.defaultBackend?.service;
    if (db) {
      const b = backends.get(upstreamName(ns, db))!;
      un = b.name;
      const defLoc = servers.get(DEFAULT_SERVER)!.locations[0]!;
      defLoc.backend = b.name;
      defLoc.service = b.service;
      defLoc.ingress = ingKey;
      if (defLoc.isDefBackend && (ing.spec.rules ?? []).length === 0) defLoc.isDefBackend = false;
    }
    for (const r of ing.spec.rules ?? []) {
      const host = r.host ?? DEFAULT_SERVER;
      if (servers.has(host)) continue;
      servers.set(host, { hostname: host, locations: [root(un, ingKey, anns)] });
    }
  }

  // getBackendServers
  for (const { ing, anns, ns } of accepted) {
    const ingKey = key(ns, ing.metadata.name);
    for (const r of ing.spec.rules ?? []) {
      const server = servers.get(r.host ?? DEFAULT_SERVER) ?? servers.get(DEFAULT_SERVER)!;
      for (const p of r.http?.paths ?? []) {
        const sb = p.backend.service;
        if (!sb) continue;
        const ups = backends.get(upstreamName(ns, sb))!;
        const nginxPath = p.path === undefined || p.path === '' ? '/' : p.path;
        let add = true;
        for (const loc of server.locations) {
          if (loc.path !== nginxPath) continue;
          if (loc.pathType !== p.pathType) break; // same path, other type: both are kept
          add = false;
          if (!loc.isDefBackend) break; // already configured by an earlier Ingress
          Object.assign(loc, { backend: ups.name, isDefBackend: false, service: ups.service, servicePort: ups.port, ingress: ingKey, annotations: anns });
          break;
        }
        if (add)
          server.locations.push({ path: nginxPath, pathType: p.pathType, ingressPath: nginxPath, isDefBackend: false, backend: ups.name, ingress: ingKey, service: ups.service, servicePort: ups.port, annotations: anns });
      }
    }
  }

  const out: Server[] = [];
  for (const s of servers.values()) {
    // sort.SliceStable by path descending, then by length descending
    const locs = [...s.locations].sort((a, b) => (a.path > b.path ? -1 : a.path < b.path ? 1 : 0));
    locs.sort((a, b) => b.path.length - a.path.length);
    const updated = updateServerLocations(locs);
    const enforceRegex = updated.some((l) => needsRewrite(l) || l.annotations.useRegex);
    out.push({ hostname: s.hostname, ...serverName(s.hostname), locations: updated.map((l) => render(l, enforceRegex)), enforceRegex });
  }
  out.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  return { servers: out, backends, ignored };
}

/** location.go updateServerLocations. */
function updateServerLocations(locations: MutableLocation[]): MutableLocation[] {
  const exact = new Set(locations.filter((l) => l.pathType === 'Exact').map((l) => l.path));
  const out: MutableLocation[] = [];
  for (const l of locations) {
    if (l.path === '/' || l.pathType !== 'Prefix' || needsRewrite(l) || l.annotations.useRegex) {
      out.push(l);
      continue;
    }
    const original = l.path;
    const normalized = original.endsWith('/') ? original : `${original}/`;
    out.push({ ...l, path: normalized, ingressPath: original });
    if (!exact.has(original)) out.push({ ...l, path: original, ingressPath: original, pathType: 'Exact' });
  }
  return out;
}

function render(l: MutableLocation, enforceRegex: boolean): Location {
  let kind: LocationKind = 'prefix';
  let rendered = `location ${l.path}`;
  let regex: RegExp | null = null;
  if (enforceRegex) {
    kind = 'regex';
    rendered = `location ~* "^${l.path}"`;
    try {
      regex = new RegExp(`^${l.path}`, 'i');
    } catch {
      regex = /(?!)/; // nginx -t would refuse it; kubewire never matches it
    }
  } else if (l.pathType === 'Exact') {
    kind = 'exact';
    rendered = `location = ${l.path}`;
  }
  return { ...l, kind, rendered, regex };
}

/** template.go buildServerName: `*.foo.com` -> `~^(?<subdomain>[\w-]+)\.foo\.com$`. */
function serverName(hostname: string): { serverName: string; nameRegex: RegExp | null } {
  if (!hostname.startsWith('*')) return { serverName: hostname, nameRegex: null };
  const rest = hostname.replace('*.', '');
  const pattern = `^(?<subdomain>[\\w-]+)\\.${rest.split('.').join('\\.')}$`;
  return { serverName: `~${pattern}`, nameRegex: new RegExp(pattern) };
}
