import { describe, expect, it } from 'vitest';
import { buildConfiguration } from '../../../src/apps/ingress/model.js';
import { INGRESS_NGINX_DEFAULTS } from '../../../src/apps/ingress/options.js';
import { formatDecision, formatRoutingTable } from '../../../src/apps/ingress/print.js';
import { ingress, ingressClass, path, service, slice } from './fixtures.js';

describe('routing table and decision text', () => {
  it('prints servers, locations, backends and ignored Ingresses', async () => {
    const cfg = buildConfiguration(
      {
        ingressClasses: [ingressClass('nginx', { isDefault: true })],
        services: [service('default', 'api', '10.43.10.2', 80, 8080), service('default', 'api-v1', '10.43.10.1', 80, 8080)],
        endpointSlices: [slice('default', 'api', 8080, ['10.42.2.20', '10.42.3.30']), slice('default', 'api-v1', 8080, [])],
        ingresses: [
          ingress('default', 'demo', [{ host: 'demo.example.com', paths: [path('/api', 'Prefix', 'api', 80), path('/api/v1', 'Exact', 'api-v1', 80)] }]),
          ingress('default', 'wild', [{ host: '*.example.com', paths: [path('/', 'Prefix', 'api', 80)] }]),
          ingress('default', 'bad', [{ host: 'bad.example.com', paths: [path('/v1.0', 'Prefix', 'api', 80)] }]),
        ],
      },
      INGRESS_NGINX_DEFAULTS,
    );
    await expect(formatRoutingTable(cfg)).toMatchFileSnapshot('../../golden/ingress/routing-table.txt');
    expect(formatRoutingTable(cfg)).toContain('ignored default/bad: path /v1.0 cannot be used with pathType Prefix');
  });

  it('prints one decision per request', () => {
    const text = formatDecision({
      client: '192.168.4.86:40000', requestLine: 'GET /api/v1 HTTP/1.1', host: 'demo.example.com', server: 'demo.example.com', serverMatch: 'exact',
      location: 'location = /api/v1', locationMatch: 'exact', alsoMatched: [], ingress: 'default/demo', service: 'default/api-v1', backend: 'default-api-v1-80',
      rewrite: null, upstreamTarget: '/api/v1', attempts: [{ endpoint: '10.42.1.10:8080', result: 'ok', local: '10.42.1.5:40000', reused: false }], requestId: 'x', status: 200, answeredBy: 'upstream', why: '',
    });
    expect(text).toBe('192.168.4.86:40000 "GET /api/v1 HTTP/1.1" host=demo.example.com server=demo.example.com(exact) location = /api/v1(exact)\n  -> default-api-v1-80 10.42.1.10:8080 from 10.42.1.5:40000 (new) = 200');
  });
});
