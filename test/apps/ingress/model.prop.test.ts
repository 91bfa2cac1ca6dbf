import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildConfiguration } from '../../../src/apps/ingress/model.js';
import { matchLocation, matchServer, parseTarget } from '../../../src/apps/ingress/match.js';
import { INGRESS_NGINX_DEFAULTS } from '../../../src/apps/ingress/options.js';
import { formatRoutingTable } from '../../../src/apps/ingress/print.js';
import type { HTTPIngressPath, Ingress } from '../../../src/k8s/api/types.js';
import { ingress, ingressClass, path, service, slice } from './fixtures.js';

const OPTS = { ...INGRESS_NGINX_DEFAULTS, watchIngressWithoutClass: true };
const seg = fc.constantFrom('a', 'b', 'ab', 'c');
const segs = fc.array(seg, { minLength: 1, maxLength: 3 });
const svcInputs = { ingressClasses: [], services: [service('default', 'rule', '10.43.0.1', 80, 8080)], endpointSlices: [slice('default', 'rule', 8080, ['10.42.0.9'])] };

function routeTo(ing: Ingress, uri: string): string {
  const cfg = buildConfiguration({ ...svcInputs, ingresses: [ing] }, OPTS);
  const s = matchServer(cfg, 'h.example.com').server;
  return matchLocation(s, parseTarget(uri).uri)!.location.backend;
}

describe('ingress model properties', () => {
  it('Prefix matches element-wise: /p matches /p, /p/ and /p/..., never /px', () => {
    fc.assert(
      fc.property(segs, segs, fc.boolean(), (p, u, trailing) => {
        const ing = ingress('default', 'x', [{ host: 'h.example.com', paths: [path(`/${p.join('/')}`, 'Prefix', 'rule', 80)] }]);
        const uri = `/${u.join('/')}${trailing ? '/' : ''}`;
        const elementWise = p.every((s, i) => u[i] === s);
        expect(routeTo(ing, uri)).toBe(elementWise ? 'default-rule-80' : 'upstream-default-backend');
      }),
    );
  });

  it('Exact matches the whole path only; longest match wins over a shorter Prefix', () => {
    fc.assert(
      fc.property(segs, segs, fc.boolean(), (p, u, trailing) => {
        const exact = `/${p.join('/')}`;
        const ing = ingress('default', 'x', [{ host: 'h.example.com', paths: [path(exact, 'Exact', 'rule', 80), path('/', 'Prefix', 'other', 80)] }]);
        const uri = `/${u.join('/')}${trailing ? '/' : ''}`;
        expect(routeTo(ing, uri)).toBe(uri === exact ? 'default-rule-80' : 'default-other-80');
      }),
    );
  });

  it('a trailing-slash Prefix does not match the path without it (ingress-nginx, unlike the spec)', () => {
    const ing = ingress('default', 'x', [{ host: 'h.example.com', paths: [path('/aaa/bbb/', 'Prefix', 'rule', 80)] }]);
    expect(routeTo(ing, '/aaa/bbb/c')).toBe('default-rule-80');
    expect(routeTo(ing, '/aaa/bbb/')).toBe('default-rule-80');
    expect(routeTo(ing, '/aaa/bbb')).toBe('upstream-default-backend');
  });

  it('ImplementationSpecific is a plain string prefix', () => {
    const ing = ingress('default', 'x', [{ host: 'h.example.com', paths: [path('/foo', 'ImplementationSpecific', 'rule', 80)] }]);
    expect(routeTo(ing, '/foobar')).toBe('default-rule-80');
    expect(routeTo(ing, '/fo')).toBe('upstream-default-backend');
  });

  it('never throws on arbitrary Ingress sets, and every request finds a location', () => {
    const pathArb: fc.Arbitrary<HTTPIngressPath> = fc.record({
      path: fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom('/', 'a', '(', ')', '.', '*', '$', '[', '?', 'b'), maxLength: 8 }).map((s) => `/${s}`)),
      pathType: fc.constantFrom('Exact' as const, 'Prefix' as const, 'ImplementationSpecific' as const),
      backend: fc.record({ service: fc.record({ name: fc.constantFrom('rule', 'missing', 'other'), port: fc.oneof(fc.record({ number: fc.constantFrom(80, 81) }), fc.record({ name: fc.constantFrom('http', '') })) }) }),
    });
    const ingArb = fc.record({
      name: fc.constantFrom('a', 'b', 'c'),
      host: fc.option(fc.constantFrom('h.example.com', '*.example.com', 'x.example.com'), { nil: undefined }),
      paths: fc.array(pathArb, { maxLength: 4 }),
      ann: fc.dictionary(fc.constantFrom('nginx.ingress.kubernetes.io/rewrite-target', 'nginx.ingress.kubernetes.io/use-regex', 'nginx.ingress.kubernetes.io/service-upstream', 'kubernetes.io/ingress.class'), fc.constantFrom('true', '/$1', '/$2?x', 'nginx', 'other', '(')),
      cls: fc.option(fc.constantFrom('nginx', 'other'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(ingArb, { maxLength: 4 }), fc.array(fc.constantFrom('h.example.com', 'y.example.com', null), { minLength: 1, maxLength: 3 }), fc.string({ unit: fc.constantFrom('/', 'a', 'b', '(', '.', '%', '2', '0'), maxLength: 10 }), (ings, hosts, uri) => {
        const objs = ings.map((i) =>
          ingress('default', i.name, [{ ...(i.host !== undefined ? { host: i.host } : {}), paths: i.paths }], { annotations: i.ann, ...(i.cls !== undefined ? { className: i.cls } : {}) }),
        );
        const cfg = buildConfiguration({ ...svcInputs, ingressClasses: [ingressClass('nginx'), ingressClass('other', { controller: 'x/y' })], ingresses: objs }, OPTS);
        expect(formatRoutingTable(cfg).length).toBeGreaterThan(0);
        for (const s of cfg.servers) expect(s.locations.some((l) => l.path === '/')).toBe(true);
        let t;
        try {
          t = parseTarget(`/${uri}`);
        } catch {
          return; // nginx answers 400
        }
        for (const h of hosts) expect(matchLocation(matchServer(cfg, h).server, t.uri)).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
