// The exchange client shared by the model's runExchange and the real-kernel client
// (src/apps/http/exchange-client.ts): its summary and URL rules, and that it sends and
// summarises exactly as runExchange does in the model.
import { describe, expect, it } from 'vitest';
import { exchangeUrl, httpExchange, summariseHttp, udpGreeting } from '../../src/apps/http/exchange-client.js';
import { streamsFor } from '../../src/apps/http/socket-adapter.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange } from '../../src/scenario/trace/exchange.js';
import { parseIpv4 } from '../../src/wire/ipv4-address.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('exchange client', () => {
  it('summarises an answer by its status line and first non-blank body line', () => {
    expect(summariseHttp(200, 'OK', enc('\n  \nHostname: echo-1\nIP: 10.42.1.2\n'))).toBe('HTTP/1.1 200 OK | Hostname: echo-1');
    expect(summariseHttp(301, 'Moved Permanently', enc('<html>  \r\n<body>'))).toBe('HTTP/1.1 301 Moved Permanently | <html>');
    expect(summariseHttp(204, 'No Content', new Uint8Array(0))).toBe('HTTP/1.1 204 No Content');
  });

  it('asks for / with Host = the target as named (without its port), or for the URL given', () => {
    expect(exchangeUrl({ label: 'svc/default/echo:80', ip: parseIpv4('10.43.0.10'), port: 80 })).toEqual({ host: 'svc/default/echo', port: 80, path: '/' });
    expect(exchangeUrl({ label: '10.42.1.2:8080', ip: parseIpv4('10.42.1.2'), port: 8080 })).toEqual({ host: '10.42.1.2', port: 8080, path: '/' });
    const url = { host: 'siji.example.com', port: 80, path: '/api' };
    expect(exchangeUrl({ label: 'http://siji.example.com/api', ip: parseIpv4('192.168.4.100'), port: 80, url })).toBe(url);
    expect(new TextDecoder().decode(udpGreeting('pod/default/client'))).toBe('kubewire trace from pod/default/client\n');
  });

  it('gets the same answer as runExchange from the same model cluster', () => {
    const answer = (via: 'runExchange' | 'shared'): string | null => {
      const rt = startRuntime(loadScenarioFile('scenarios/two-node-flannel.yaml', []));
      const from = resolvePlace(rt, 'pod/default/client');
      const to = resolveTarget(rt, '10.42.1.2:8080');
      if (via === 'runExchange') return runExchange(rt, from, to, 'tcp', { timeout: 3e9 }).response;
      let out: string | null = 'unanswered';
      httpExchange(streamsFor(from.sockets).connector, to.ip, to, (ok, why, summary) => void (out = ok ? summary : `failed: ${why}`));
      rt.world.run(3e9);
      return out;
    };
    const shared = answer('shared');
    expect(shared).toMatch(/^HTTP\/1\.1 200 OK \| Hostname: echo-/);
    expect(shared).toBe(answer('runExchange'));
  });
});
