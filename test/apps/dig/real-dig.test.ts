// The dig printer against the real dig binary: real dig queries kubewire's CoreDNS (the
// seed fixture) over a loopback UDP socket; printing the same query and reply bytes with
// printDig must give dig's output line for line (only Query time and WHEN differ).
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMsg } from '../../../src/apps/coredns/dns/message.js';
import { printDig, printDigSearch } from '../../../src/apps/dig/print.js';
import { StreamFramer, frame } from '../../../src/apps/coredns/transport.js';
import { missing } from '../../helpers/tools.js';
import { makeWorld, type World } from '../coredns/fixture.js';

const run = promisify(execFile);
const why = missing({ tools: ['dig'] });

describe.skipIf(why !== null)('printDig matches the real dig', () => {
  let sock: dgram.Socket;
  let tcp: net.Server;
  let port = 0;
  let w: World;
  const seen: { query: Uint8Array; reply: Uint8Array }[] = [];
  beforeAll(async () => {
    w = makeWorld();
    sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const query = new Uint8Array(msg);
      w.dns.handleDatagram(53, query, { addr: rinfo.address, port: rinfo.port }, { addr: '127.0.0.1', port: 53 }, (b) => {
        seen.push({ query, reply: b });
        sock.send(b, rinfo.port, rinfo.address);
      });
      w.eq.run();
    });
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    port = sock.address().port;
    tcp = net.createServer((c) => {
      const f = new StreamFramer((query) => {
        w.dns.handleDatagram(53, query, { addr: c.remoteAddress!, port: c.remotePort! }, { addr: '127.0.0.1', port: 53 }, (b) => {
          seen.push({ query, reply: b });
          c.write(frame(b));
        }, 'tcp');
        w.eq.run();
      });
      c.on('data', (d) => f.push(new Uint8Array(d)));
    });
    await new Promise<void>((res) => tcp.listen(port, '127.0.0.1', () => res()));
  });
  afterAll(() => {
    sock.close();
    tcp.close();
  });

  const cases: [string, string[]][] = [
    ['ClusterIP A', ['backend-service.k8s.svc.cluster.local']],
    ['NXDOMAIN', ['nope.k8s.svc.cluster.local']],
    ['NODATA AAAA', ['backend-service.k8s.svc.cluster.local', 'AAAA']],
    ['headless SRV', ['_http._tcp.clickhouse-service.clickhouse.svc.cluster.local', 'SRV']],
    ['TXT', ['dns-version.cluster.local', 'TXT']],
    ['forwarded, no EDNS', ['xxx.com', '+noedns']],
    ['PTR via -x', ['-x', '10.43.199.15']],
    ['ExternalName', ['external-xxx.k8s.svc.cluster.local']],
    ['NS apex', ['cluster.local', 'NS', '+nocookie']],
    ['answer only', ['clickhouse-1-1-0.clickhouse-service.clickhouse.svc.cluster.local', '+noall', '+answer']],
    ['short', ['clickhouse-service.clickhouse.svc.cluster.local', '+short']],
    ['TCP', ['backend-service.k8s.svc.cluster.local', '+tcp']],
    ['truncated, retried over TCP', ['clickhouse-service.clickhouse.svc.cluster.local', 'SRV', '+noedns']],
  ];

  for (const [title, args] of cases) {
    it(title, async () => {
      seen.length = 0;
      const argv = ['@127.0.0.1', '-p', String(port), ...args];
      const { stdout } = await run('dig', argv);
      const truncated = seen.length === 2;
      expect(seen.length).toBe(args.includes('+noedns') && args.includes('SRV') ? 2 : 1);
      const { query, reply } = seen[seen.length - 1]!;
      const display = {
        cmd: !args.includes('+noall'),
        comments: !args.includes('+noall'),
        question: !args.includes('+noall'),
        answer: true,
        authority: !args.includes('+noall'),
        additional: !args.includes('+noall'),
        stats: !args.includes('+noall'),
        short: args.includes('+short'),
      };
      const ours = printDig(
        {
          argv: argv.join(' '),
          serverFound: true,
          query: decodeMsg(query),
          reply: decodeMsg(reply),
          replySize: reply.length,
          server: { addr: '127.0.0.1', port },
          proto: args.includes('+tcp') || truncated ? 'TCP' : 'UDP',
          elapsedNs: 0,
          whenUnix: 0,
          truncatedRetry: truncated,
        },
        display,
      );
      const norm = (s: string): string => s.replace(/^;; Query time: .*$/m, ';; Query time: X').replace(/^;; WHEN: .*$/m, ';; WHEN: X').replace(/^; \(1 server found\)\n/m, args[0] === '-x' ? '' : '; (1 server found)\n');
      expect(norm(ours)).toBe(norm(stdout));
    });
  }
});

// dig +search +showsearch reads /etc/resolv.conf: give it the pod's, in a private mount namespace.
const whySearch = missing({ tools: ['dig', 'unshare', 'mount'], root: true });
describe.skipIf(whySearch !== null)('printDigSearch matches dig +search +showsearch', () => {
  it('digSearchNames is the order dig uses (ndots:2)', async () => {
    const { digSearchNames } = await import('../../../src/apps/dig/client.js');
    const { parseResolvConf } = await import('../../../src/apps/resolver/resolvconf.js');
    const w = makeWorld();
    const names: string[] = [];
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const q = new Uint8Array(msg);
      names.push(`${decodeMsg(q).question[0]!.name}.`);
      w.dns.handleDatagram(53, q, { addr: rinfo.address, port: rinfo.port }, { addr: '127.0.0.1', port: 53 }, (b) => sock.send(b, rinfo.port, rinfo.address));
      w.eq.run();
    });
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    const port = sock.address().port;
    const text = 'nameserver 127.0.0.1\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:2\n';
    const dir = mkdtempSync(join(tmpdir(), 'kwt-dig-'));
    writeFileSync(join(dir, 'resolv.conf'), text);
    try {
      for (const n of ['a.b.c', 'xxx.com', 'k8s', 'xxx.com.']) {
        names.length = 0;
        await run('unshare', ['-m', 'sh', '-c', `mount --bind ${join(dir, 'resolv.conf')} /etc/resolv.conf && dig -p ${port} +search ${n}`]);
        const want = digSearchNames(n, parseResolvConf(text));
        // dig stops at the first answer that is not NXDOMAIN, so it may ask fewer
        expect(names).toEqual(want.slice(0, names.length));
        expect(names.length).toBeGreaterThan(0);
      }
    } finally {
      sock.close();
    }
  });

  it('xxx.com through the pod search list', async () => {
    const w = makeWorld();
    const seen: { query: Uint8Array; reply: Uint8Array }[] = [];
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const query = new Uint8Array(msg);
      w.dns.handleDatagram(53, query, { addr: rinfo.address, port: rinfo.port }, { addr: '127.0.0.1', port: 53 }, (b) => {
        seen.push({ query, reply: b });
        sock.send(b, rinfo.port, rinfo.address);
      });
      w.eq.run();
    });
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    const port = sock.address().port;
    const dir = mkdtempSync(join(tmpdir(), 'kwt-dig-'));
    const conf = join(dir, 'resolv.conf');
    writeFileSync(conf, 'nameserver 127.0.0.1\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    try {
      const argv = `-p ${port} +search +showsearch xxx.com`;
      const { stdout } = await run('unshare', ['-m', 'sh', '-c', `mount --bind ${conf} /etc/resolv.conf && dig ${argv}`]);
      expect(seen.map((x) => decodeMsg(x.query).question[0]!.name)).toEqual(['xxx.com.k8s.svc.cluster.local', 'xxx.com.svc.cluster.local', 'xxx.com.cluster.local', 'xxx.com']);
      const runs = seen.map(({ query, reply }) => ({
        exchange: { argv, serverFound: false, query: decodeMsg(query), reply: decodeMsg(reply), replySize: reply.length, server: { addr: '127.0.0.1', port }, proto: 'UDP' as const, elapsedNs: 0, whenUnix: 0 },
        failures: [],
      }));
      const norm = (s: string): string => s.replace(/^;; Query time: .*$/gm, ';; Query time: X').replace(/^;; WHEN: .*$/gm, ';; WHEN: X');
      expect(norm(printDigSearch(runs, true))).toBe(norm(stdout));
    } finally {
      sock.close();
    }
  });
});
