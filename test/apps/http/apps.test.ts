import { describe, expect, it } from 'vitest';
import { FakeNet, sizes, text } from './fake-net.js';
import { curl, curlRequest, parseHttpUrl, type CurlResult } from '../../../src/apps/http/curl.js';
import { startEchoServer } from '../../../src/apps/http/echo.js';
import { startRedirectServer, SEED_XXX_COM } from '../../../src/apps/http/static.js';
import { serialize } from '../../../src/apps/http/serialize.js';
import { nginxErrorPage } from '../../../src/apps/http/error-pages.js';
import { formatHttpDate } from '../../../src/apps/http/date.js';
import { parseIpv4 } from '../../../src/wire/ipv4-address.js';

function run(net: FakeNet, from: string, to: string, url: string): CurlResult {
  let r: CurlResult | null = null;
  curl(net.host(from).connector, parseIpv4(to), parseHttpUrl(url), (x) => (r = x));
  net.run();
  if (r === null) throw new Error('curl did not finish');
  return r;
}

describe('curl, echo and static servers', () => {
  it('curl sends exactly the request the seed captured', async () => {
    const bytes = text(serialize(curlRequest(parseHttpUrl('http://xxx.com'))));
    await expect(bytes).toMatchFileSnapshot('../../golden/http/curl-request.txt');
    // the seed's tcpdump shows `GET / HTTP/1.1`, `Host: xxx.com`, `User-Agent: curl/8.5.0`, `Accept: */*`
    expect(bytes).toBe('GET / HTTP/1.1\r\nHost: xxx.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n');
    expect(text(serialize(curlRequest(parseHttpUrl('http://a.b:8080/x?y'))))).toContain('Host: a.b:8080\r\n');
  });

  it('the xxx.com server answers 301 with the seed page, in any chunking', async () => {
    const net = new FakeNet({ chunker: sizes(3, 1, 7) });
    startRedirectServer(net.host('122.14.236.25').listener, 80, { ...SEED_XXX_COM, clock: net.clock });
    const r = run(net, '10.42.4.15', '122.14.236.25', 'http://xxx.com');
    expect(r.exitCode).toBe(0);
    expect(r.response?.status).toBe(301);
    // what `curl xxx.com` printed in the seed
    expect(text(r.response!.body)).toBe(
      '<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>TLB</center>\r\n</body>\r\n</html>\r\n',
    );
    await expect(text(net.flows[0]!.s2c)).toMatchFileSnapshot('../../golden/http/xxx-com-301.txt');
    // curl closed after the keep-alive response: both sides sent FIN
    expect(text(net.flows[0]!.c2s)).toBe(text(r.sent));
  });

  it('the echo server names itself and repeats the request it saw', async () => {
    const net = new FakeNet({ chunker: sizes(5) });
    startEchoServer(net.host('192.168.4.86').listener, 6666, { name: 'k8s-192-168-4-86', ip: parseIpv4('192.168.4.86'), clock: net.clock });
    const r = run(net, '192.168.4.200', '192.168.4.86', 'http://192.168.4.86:6666/api/v1?x=1');
    expect(r.response?.status).toBe(200);
    await expect(text(net.flows[0]!.s2c)).toMatchFileSnapshot('../../golden/http/echo-response.txt');
    expect(text(r.response!.body)).toContain('RemoteAddr: 192.168.4.200:40000\nGET /api/v1?x=1 HTTP/1.1\nHost: 192.168.4.86:6666\n');
  });

  it('nginx error pages are the bytes of ngx_http_special_response.c', async () => {
    await expect(nginxErrorPage(404)).toMatchFileSnapshot('../../golden/http/nginx-404.html');
    await expect(nginxErrorPage(503)).toMatchFileSnapshot('../../golden/http/nginx-503.html');
    expect(nginxErrorPage(404)).toBe('<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n');
    expect(nginxErrorPage(404)!.length).toBe(146); // the Content-Length real ingress-nginx 404s carry
    expect(nginxErrorPage(503)!.length).toBe(190);
    expect(nginxErrorPage(494)).toContain('<title>400 Request Header Or Cookie Too Large</title>');
    expect(nginxErrorPage(200)).toBeNull();
  });

  it('curl reports refused connections and empty replies as curl does', () => {
    const net = new FakeNet();
    const r = run(net, '192.168.4.200', '192.168.4.90', 'http://192.168.4.90/');
    expect(r.exitCode).toBe(7);
    expect(r.error).toBe("curl: (7) Failed to connect to 192.168.4.90 port 80 after 0 ms: Couldn't connect to server");
    net.host('192.168.4.91').listener.listen(80, (c) => c.close());
    const e = run(net, '192.168.4.200', '192.168.4.91', 'http://192.168.4.91/');
    expect(e.exitCode).toBe(52);
  });

  it('formats HTTP dates without the Date object', () => {
    expect(formatHttpDate(0)).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(formatHttpDate(784111777)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(formatHttpDate(1722441583)).toBe('Wed, 31 Jul 2024 15:59:43 GMT');
    expect(formatHttpDate(951782400)).toBe('Tue, 29 Feb 2000 00:00:00 GMT');
    for (let t = 0; t < 4e9; t += 86400 * 97 + 3601) expect(formatHttpDate(t)).toBe(new Date(t * 1000).toUTCString());
  });
});
