// The dig printer against the real dig binary: real dig queries kubewire's CoreDNS (the
// seed fixture) over a loopback UDP socket; printing the same query and reply bytes with
// printDig must give dig's output line for line (only Query time and WHEN differ).
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMsg } from '../../../src/apps/coredns/dns/message.js';
import { printDig } from '../../../src/apps/dig/print.js';
import { missing } from '../../helpers/tools.js';
import { makeWorld, type World } from '../coredns/fixture.js';

const run = promisify(execFile);
const why = missing({ tools: ['dig'] });

describe.skipIf(why !== null)('printDig matches the real dig', () => {
  let sock: dgram.Socket;
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
  });
  afterAll(() => sock.close());

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
  ];

  for (const [title, args] of cases) {
    it(title, async () => {
      seen.length = 0;
      const argv = ['@127.0.0.1', '-p', String(port), ...args];
      const { stdout } = await run('dig', argv);
      expect(seen.length).toBe(1);
      const { query, reply } = seen[0]!;
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
          proto: 'UDP',
          elapsedNs: 0,
          whenUnix: 0,
        },
        display,
      );
      const norm = (s: string): string => s.replace(/^;; Query time: .*$/m, ';; Query time: X').replace(/^;; WHEN: .*$/m, ';; WHEN: X').replace(/^; \(1 server found\)\n/m, args[0] === '-x' ? '' : '; (1 server found)\n');
      expect(norm(ours)).toBe(norm(stdout));
    });
  }
});
