/** curlRequest against the real curl on this machine (its own User-Agent), on loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { haveTool } from '../../helpers/tools.js';
import { curlRequest, parseHttpUrl } from '../../../src/apps/http/curl.js';
import { serialize } from '../../../src/apps/http/serialize.js';

const why = haveTool('curl') ? null : 'needs curl';
const PORT = 25000 + (process.pid % 5000);

describe.skipIf(why !== null)('curlRequest == real curl', () => {
  let server: net.Server;
  let seen: string[] = [];
  let version = '';
  beforeAll(async () => {
    server = net.createServer((c) => {
      let buf = '';
      c.on('data', (b) => {
        buf += b.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = /Content-Length: (\d+)/i.exec(buf)?.[1];
        if (buf.length < end + 4 + Number(len ?? 0)) return;
        seen.push(buf);
        c.end('HTTP/1.1 204 No Content\r\n\r\n');
      });
    });
    await new Promise<void>((r) => server.listen(PORT, '127.0.0.1', r));
    version = await new Promise<string>((r) => execFile('curl', ['--version'], (_e, out) => r(/^curl (\S+)/.exec(out)?.[1] ?? '')));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const run = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      seen = [];
      execFile('curl', ['-s', '-o', '/dev/null', ...args], (e) => (e ? reject(e) : resolve(seen[0] ?? '')));
    });

  it('sends the same bytes for GET, -H and -d', async () => {
    const url = `http://127.0.0.1:${PORT}/a?b`;
    const ua = `curl/${version}`;
    const mine = (o: Parameters<typeof curlRequest>[1]): string => Buffer.from(serialize(curlRequest(parseHttpUrl(url), { userAgent: ua, ...o }))).toString('latin1');
    expect(await run([url])).toBe(mine({}));
    expect(await run(['-H', 'X-A: b', '-H', 'Accept: text/html', '-d', 'hello', url])).toBe(
      mine({ headers: [{ name: 'X-A', value: 'b' }, { name: 'Accept', value: 'text/html' }], body: new TextEncoder().encode('hello') }),
    );
    expect(await run(['-H', 'Host: siji.example.com', url])).toBe(mine({ headers: [{ name: 'Host', value: 'siji.example.com' }] }));
  });
});
