/**
 * Differential test of the routing: the servers and locations kubewire renders are written
 * into a real nginx.conf (each location answering its own name), and random Host headers
 * and request-targets go to both. Server choice (exact names, the wildcard regex, the
 * default server), `$uri` normalization (percent-decoding, merged slashes, dot segments)
 * and location choice (exact, longest prefix, regex order) must agree. Needs `nginx`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { haveTool } from '../../helpers/tools.js';
import { buildConfiguration, type IngressConfiguration } from '../../../src/apps/ingress/model.js';
import { hostFromHeader, matchLocation, matchServer, parseTarget } from '../../../src/apps/ingress/match.js';
import { INGRESS_NGINX_DEFAULTS } from '../../../src/apps/ingress/options.js';
import { ingress, path, service, slice } from './fixtures.js';

const why = haveTool('nginx') ? null : 'needs nginx';
if (why) console.warn(`skipping: ${why}`);
const PORT = 30000 + (process.pid % 5000);

const cfg: IngressConfiguration = buildConfiguration(
  {
    ingressClasses: [],
    services: [service('default', 'api', '10.43.0.1', 80, 8080)],
    endpointSlices: [slice('default', 'api', 8080, ['10.42.0.9'])],
    ingresses: [
      ingress('default', 'demo', [{ host: 'demo.example.com', paths: [path('/api', 'Prefix', 'api', 80), path('/api/v1', 'Exact', 'api', 80), path('/a/b/', 'Prefix', 'api', 80), path('/img', 'ImplementationSpecific', 'api', 80)] }]),
      ingress('default', 'wild', [{ host: '*.example.com', paths: [path('/x', 'Prefix', 'api', 80)] }]),
      ingress('default', 'rw', [{ host: 'rw.example.com', paths: [path('/something(/|$)(.*)', 'ImplementationSpecific', 'api', 80), path('/api', 'Prefix', 'api', 80)] }], { annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' } }),
      ingress('default', 'nohost', [{ paths: [path('/open', 'Exact', 'api', 80)] }]),
    ],
  },
  { ...INGRESS_NGINX_DEFAULTS, watchIngressWithoutClass: true },
);

function conf(dir: string): string {
  const servers = cfg.servers
    .map((s, si) => {
      const listen = s.hostname === '_' ? `listen 127.0.0.1:${PORT} default_server;` : `listen 127.0.0.1:${PORT};`;
      const locs = s.locations.map((l, li) => `    ${l.rendered} { return 200 "${si}:${li}"; }`).join('\n');
      return `  server {\n    ${listen}\n    server_name ${s.serverName === '_' ? '_' : `"${s.serverName}"`};\n${locs}\n  }`;
    })
    .join('\n');
  return `daemon off;\nmaster_process off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;\n  default_type text/plain;\n${servers}\n}\n`;
}

function ask(host: string, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(PORT, '127.0.0.1');
    let out = '';
    s.on('data', (b) => (out += b.toString('latin1')));
    s.on('end', () => {
      const status = out.slice(9, 12);
      resolve(status === '200' ? out.slice(out.indexOf('\r\n\r\n') + 4) : status);
    });
    s.on('error', reject);
    s.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 'latin1');
  });
}

function mine(host: string, target: string): string {
  const h = hostFromHeader(host);
  if (h === null) return '400';
  let t;
  try {
    t = parseTarget(target);
  } catch {
    return '400';
  }
  const s = matchServer(cfg, h).server;
  const l = matchLocation(s, t.uri);
  return l === null ? '404' : `${cfg.servers.indexOf(s)}:${s.locations.indexOf(l.location)}`;
}

describe.skipIf(why !== null)('routing == real nginx', () => {
  let dir = '';
  let proc: ChildProcess | null = null;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kwt-ngxroute-'));
    writeFileSync(join(dir, 'nginx.conf'), conf(dir));
    proc = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      const up = await new Promise<boolean>((r) => {
        const s = net.connect(PORT, '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('nginx did not start');
  });
  afterAll(() => {
    proc?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('chooses the same server and location for random requests', async () => {
    const hosts = ['demo.example.com', 'DEMO.Example.com.', 'foo.example.com', 'f_o-o.example.com', 'a.b.example.com', 'example.com', 'rw.example.com', 'other.test', 'demo.example.com:8080'];
    const piece = fc.constantFrom('/', 'api', 'v1', 'a', 'b', 'img', 'x', 'something', 'SOMETHING', 'open', '.', '..', '%2e', '%2F', '%41pi', '//', 'bar', '?q=1');
    const targets = fc.sample(fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => `/${p.join('')}`), { numRuns: 250, seed: 42 });
    const fixed = ['/api', '/api/', '/api/v1', '/api/v1/', '/apix', '/a/b', '/a/b/', '/a/b/c', '/img', '/imgs', '/x', '/x/', '/xy', '/open', '/open/', '/something', '/something/z', '/Something/Z', '/%2e%2e/', '/a/../api/v1', '/api//v1', '/./api'];
    let n = 0;
    const answers = new Set<string>();
    for (const target of [...fixed, ...targets])
      for (const host of hosts) {
        if (n++ % 3 !== 0 && !fixed.includes(target)) continue;
        const real = await ask(host, target);
        answers.add(real);
        expect(mine(host, target), `${host} ${target}`).toBe(real);
      }
    // the sample reached every server, most locations, and nginx's own 400
    expect(answers.has('400')).toBe(true);
    expect(new Set([...answers].map((a) => a.split(':')[0])).size).toBe(cfg.servers.length + 1);
    expect(answers.size).toBeGreaterThan(12);
  });
});
