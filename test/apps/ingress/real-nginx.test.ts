/**
 * kubewire's nginx against the real one: a Debian nginx on loopback with the location block
 * nginx.tmpl renders (proxy_set_header list in its order, proxy_http_version 1.1, upstream
 * keepalive, server_tokens off + more_clear_headers Server), fed the same requests. The
 * bytes the upstream receives, the bytes the client receives and nginx's own 404/503 must
 * be the same, apart from the random X-Request-ID and the Date.
 *
 * Needs `nginx` and the headers-more module (Debian: nginx-light
 * libnginx-mod-http-headers-more-filter); skipped when they are absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { haveTool } from '../../helpers/tools.js';
import { IngressNginx } from '../../../src/apps/ingress/nginx.js';
import { applyRewrite, escapeUri, parseTarget } from '../../../src/apps/ingress/match.js';
import { buildConfiguration } from '../../../src/apps/ingress/model.js';
import { INGRESS_NGINX_DEFAULTS } from '../../../src/apps/ingress/options.js';
import { parseOne } from '../../../src/apps/http/parser.js';
import { serialize } from '../../../src/apps/http/serialize.js';
import { latin1Bytes, type HttpRequest, type HttpResponse } from '../../../src/apps/http/message.js';
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Random } from '../../../src/sim/random.js';
import { parseIpv4 } from '../../../src/wire/ipv4-address.js';
import { ingress, path, service, slice } from './fixtures.js';
import { FakeNet } from '../http/fake-net.js';

const MODULE = '/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so';
const why = !haveTool('nginx') ? 'needs nginx' : !existsSync(MODULE) ? 'needs libnginx-mod-http-headers-more-filter' : null;
if (why) console.warn(`skipping: ${why}`);

const base = 20000 + (process.pid % 5000) * 2;
const NGINX_PORT = base;
const UPSTREAM_PORT = base + 1;

const LOCATION_BODY = `
      set $proxy_upstream_name "default-api-80";
      set $pass_access_scheme $scheme;
      set $pass_server_port $server_port;
      set $best_http_host $http_host;
      set $pass_port $pass_server_port;
      proxy_set_header Host $best_http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Request-ID $req_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $best_http_host;
      proxy_set_header X-Forwarded-Port $pass_port;
      proxy_set_header X-Forwarded-Proto $pass_access_scheme;
      proxy_set_header X-Forwarded-Scheme $pass_access_scheme;
      proxy_set_header X-Scheme $pass_access_scheme;
      proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;
      proxy_set_header Proxy "";
      proxy_buffering off;
      proxy_request_buffering on;
      proxy_http_version 1.1;
      proxy_redirect off;
      proxy_pass http://upstream_balancer;`;

function config(dir: string): string {
  return `load_module ${MODULE};
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  default_type text/html;
  server_tokens off;
  more_clear_headers Server;
  keepalive_timeout 75s;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  map $http_x_request_id $req_id { default $http_x_request_id; "" $request_id; }
  upstream upstream_balancer { server 127.0.0.1:${UPSTREAM_PORT}; keepalive 320; }
  server {
    listen 127.0.0.1:${NGINX_PORT} default_server;
    server_name _;
    location /notfound { return 404; }
    location /unavailable { return 503; }
    location ~* "^/something(/|$)(.*)" {
      rewrite "(?i)/something(/|$)(.*)" /$2 break;${LOCATION_BODY}
    }
    location / {${LOCATION_BODY}
    }
  }
}
`;
}

/** The upstream: records each request's bytes and answers with the next canned response. */
let upstreamSeen: Buffer[] = [];
let upstreamReply: Buffer = Buffer.alloc(0);
let upstreamClose = false;

function exchange(raw: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(NGINX_PORT, '127.0.0.1');
    const parts: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    const done = (): void => {
      s.destroy();
      resolve(Buffer.concat(parts));
    };
    s.on('data', (b) => {
      parts.push(b);
      // a response is complete when it parses; give nginx a moment for trailing bytes
      if (timer) clearTimeout(timer);
      timer = setTimeout(done, 150);
    });
    s.on('end', done);
    s.on('error', reject);
    s.write(raw, 'latin1');
  });
}

const norm = (s: string): string => s.replace(/^Date: .*$/m, 'Date: -').replace(/^X-Request-ID: [0-9a-f]{32}$/m, 'X-Request-ID: -');

describe.skipIf(why !== null)('kubewire nginx == real nginx', () => {
  let dir = '';
  let proc: ChildProcess | null = null;
  let upstream: net.Server | null = null;
  const model = new IngressNginx(
    { listener: { listen: () => {} }, connector: { connect: () => {} }, clock: new EventQueue(), rng: new Random(1), trace: null, node: 'n', netns: 'p' },
  );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kwt-nginx-'));
    writeFileSync(join(dir, 'nginx.conf'), config(dir));
    upstream = net.createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('data', (b) => {
        buf = Buffer.concat([buf, b]);
        if (buf.includes('\r\n\r\n')) {
          upstreamSeen.push(buf);
          buf = Buffer.alloc(0);
          c.write(upstreamReply);
          if (upstreamClose) c.end();
        }
      });
      c.on('error', () => {});
    });
    await new Promise<void>((r) => upstream!.listen(UPSTREAM_PORT, '127.0.0.1', r));
    proc = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(NGINX_PORT, '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('nginx did not start');
  });

  afterAll(async () => {
    proc?.kill('SIGTERM');
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const curlReq = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: demo.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n${extra}\r\n`;

  async function proxied(raw: string, reply: string, close = false): Promise<{ up: string; client: string }> {
    upstreamSeen = [];
    upstreamReply = Buffer.from(reply, 'latin1');
    upstreamClose = close;
    const client = (await exchange(raw)).toString('latin1');
    return { up: Buffer.concat(upstreamSeen).toString('latin1'), client };
  }

  const ok = 'HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nX-App: a\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\n\r\nhi\n';

  for (const [label, raw] of [
    ['plain curl', curlReq('/api/v1?x=1')],
    ['incoming X-Forwarded-For and X-Request-ID', curlReq('/a', 'X-Forwarded-For: 203.0.113.9\r\nX-Request-ID: abc\r\nProxy: evil\r\nKeep-Alive: 300\r\nConnection: keep-alive\r\n')],
    ['a POST body', `POST /form HTTP/1.1\r\nHost: demo.example.com:${NGINX_PORT}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello`],
    ['HTTP/1.0 without Host', 'GET /x HTTP/1.0\r\nUser-Agent: curl/8.5.0\r\n\r\n'],
  ] as const) {
    it(`upstream request and client response: ${label}`, async () => {
      const { up, client } = await proxied(raw, ok);
      const req = parseOne<HttpRequest>('request', latin1Bytes(raw));
      const conn = { remoteAddr: parseIpv4('127.0.0.1'), localPort: NGINX_PORT };
      const id = /X-Request-ID: (\S+)/.exec(up)?.[1] ?? null;
      const mine = Buffer.from(serialize(model.upstreamRequest(req, conn, req.target, id))).toString('latin1');
      expect(mine).toBe(up);
      const upRes = parseOne<HttpResponse>('response', latin1Bytes(ok), req.method);
      const myRes = Buffer.from(serialize(model.clientResponse(req, upRes))).toString('latin1');
      expect(norm(myRes)).toBe(norm(client));
    });
  }

  it('re-chunks a response without length for an HTTP/1.1 client', async () => {
    const noLen = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nstreamed';
    const { client } = await proxied(curlReq('/stream'), noLen, true);
    const req = parseOne<HttpRequest>('request', latin1Bytes(curlReq('/stream')));
    const upRes = parseOne<HttpResponse>('response', latin1Bytes(noLen), 'GET');
    expect(norm(Buffer.from(serialize(model.clientResponse(req, upRes))).toString('latin1'))).toBe(norm(client));
  });

  it('rewrite-target gives the same upstream request line', async () => {
    const cfg = buildConfiguration(
      {
        ingresses: [ingress('default', 'rw', [{ host: 'demo.example.com', paths: [path('/something(/|$)(.*)', 'ImplementationSpecific', 'api', 80)] }], { annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' } })],
        ingressClasses: [],
        services: [],
        endpointSlices: [],
      },
      { ...INGRESS_NGINX_DEFAULTS, watchIngressWithoutClass: true },
    );
    const loc = cfg.servers.find((s) => s.hostname === 'demo.example.com')!.locations[0]!;
    for (const target of ['/something/new?a=1', '/SomeThing', '/something/a%20b/c', '/something//x/../y', '/something/%3Fq?z']) {
      const { up } = await proxied(curlReq(target), ok);
      const t = parseTarget(target);
      const rw = applyRewrite(loc, t.uri, t.args)!;
      expect(`GET ${escapeUri(rw.uri)}${rw.args !== null ? `?${rw.args}` : ''} HTTP/1.1`).toBe(up.split('\r\n')[0]);
    }
  });

  it("nginx's own 404 and 503 responses", async () => {
    for (const [p, code] of [
      ['/notfound', 404],
      ['/unavailable', 503],
    ] as const) {
      const client = (await exchange(curlReq(p))).toString('latin1');
      const req = parseOne<HttpRequest>('request', latin1Bytes(curlReq(p)));
      expect(norm(Buffer.from(serialize(model.ownResponse(code, req))).toString('latin1'))).toBe(norm(client));
    }
  });

  it('answers malformed requests as nginx does', async () => {
    for (const raw of [
      'GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
      'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
      `GET / HTTP/1.1\r\nHost: a\r\nCookie: ${'c'.repeat(9000)}\r\n\r\n`,
      `GET /${'u'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      'GET /../x HTTP/1.1\r\nHost: a\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n',
    ]) {
      const real = (await exchange(raw)).toString('latin1');
      const fake = new FakeNet();
      const pod = fake.host('10.42.0.5');
      const n = new IngressNginx({ listener: pod.listener, connector: pod.connector, clock: fake.clock, rng: new Random(1), trace: null, node: 'n', netns: 'p' });
      n.start();
      let got = '';
      fake.host('10.0.0.1').connector.connect(parseIpv4('10.42.0.5'), 80, (c) => {
        if ('errno' in c) throw new Error(c.errno);
        c.onData((b) => (got += Buffer.from(b).toString('latin1')));
        c.write(latin1Bytes(raw));
      });
      fake.run();
      expect(real).toMatch(/^HTTP\/1\.1 (400|414|501|505) /);
      expect(norm(got), raw.slice(0, 40)).toBe(norm(real));
    }
  });

  /** The same request through kubewire's nginx over the fake network, upstream answering `reply`. */
  function viaModel(raw: string, reply: string): { up: string; client: string } {
    const fake = new FakeNet();
    const pod = fake.host('10.42.0.5');
    const n = new IngressNginx({ listener: pod.listener, connector: pod.connector, clock: fake.clock, rng: new Random(1), trace: null, node: 'n', netns: 'p' }, { httpPort: NGINX_PORT, watchIngressWithoutClass: true });
    n.sync({
      ingresses: [ingress('default', 'all', [{ paths: [path('/', 'Prefix', 'api', 80)] }])],
      ingressClasses: [],
      services: [service('default', 'api', '10.43.0.1', 80, 8080)],
      endpointSlices: [slice('default', 'api', 8080, ['10.42.9.9'])],
    });
    n.start();
    fake.host('10.42.9.9').listener.listen(8080, (c) => c.onData(() => c.write(latin1Bytes(reply))));
    let client = '';
    fake.host('127.0.0.1').connector.connect(parseIpv4('10.42.0.5'), NGINX_PORT, (c) => {
      if ('errno' in c) throw new Error(c.errno);
      c.onData((b) => (client += Buffer.from(b).toString('latin1')));
      c.write(latin1Bytes(raw));
    });
    fake.run();
    const up = fake.flowsTo('10.42.9.9:8080').map((f) => Buffer.from(f.c2s).toString('latin1')).join('');
    return { up, client };
  }

  it('the whole path matches for odd headers (ignored names, no colon, tabs, absolute-form)', async () => {
    for (const raw of [
      curlReq('/h', 'X_Under: 1\r\nX@y: 2\r\nOk-1: 3\r\nNoColon\r\nX-Tab:\tv\t\r\nX-Hi: caf\xe9\r\n'),
      'GET http://abs.example.com/x?y HTTP/1.1\r\nHost: demo.example.com\r\nAccept: */*\r\n\r\n',
      curlReq('/h', 'Upgrade: websocket\r\nConnection: Upgrade\r\n'),
    ]) {
      const real = await proxied(raw, ok);
      const mine = viaModel(raw, ok);
      expect(norm(mine.up), raw).toBe(norm(real.up));
      expect(norm(mine.client), raw).toBe(norm(real.client));
    }
  });

  it('relays the upstream status line as it came (no reason, odd codes, chunked upstream)', async () => {
    for (const reply of [
      'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 299 Custom Thing\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 404 Nope\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-B: 1\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n',
      'HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nSet-Cookie: a=b\r\nContent-Length: 0\r\n\r\n',
      // a header over proxy_buffer_size 4k: nginx answers 502 itself
      `HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(5000)}\r\nContent-Length: 0\r\n\r\n`,
      `HTTP/1.1 200 OK\r\nContent-Length: ${3 << 20}\r\n\r\n${'z'.repeat(3 << 20)}`,
    ]) {
      const raw = curlReq('/s');
      const real = await proxied(raw, reply);
      const mine = viaModel(raw, reply);
      expect(norm(mine.client), reply).toBe(norm(real.client));
    }
  });
});
