import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/tools.js';
import { ipAddr } from '../../src/linux/print/ip-addr.js';
import { ipLink } from '../../src/linux/print/ip-link.js';
import { ipNeigh } from '../../src/linux/print/ip-neigh.js';
import { ipRoute } from '../../src/linux/print/ip-route.js';
import { bridgeFdb } from '../../src/linux/print/bridge-fdb.js';
import { sysctlShow } from '../../src/linux/print/sysctl.js';
import { RT_TABLE_LOCAL } from '../../src/linux/fib.js';
import { buildModel, normaliseTimers, TOPO, type Model } from './topo.js';

const SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.cni0.proxy_arp',
  'net.ipv4.conf.flannel/1.forwarding',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_default_ttl',
];

function dumps(m: Model): Record<string, string> {
  const n1 = m.ns.n1;
  return {
    'ip/node-addr.txt': ipAddr(n1),
    'ip/node-link.txt': ipLink(n1),
    'ip/node-link-details.txt': normaliseTimers(ipLink(n1, { details: true })),
    'ip/node-route.txt': ipRoute(n1),
    'ip/node-route-local.txt': ipRoute(n1, { table: RT_TABLE_LOCAL }),
    'ip/node-route-all.txt': ipRoute(n1, { table: 'all' }),
    'ip/node-neigh.txt': ipNeigh(n1),
    'bridge/node-fdb.txt': bridgeFdb(n1),
    'ip/pod-addr.txt': ipAddr(m.ns.p1),
    'ip/pod-route.txt': ipRoute(m.ns.p1),
    'sysctl/node.txt': sysctlShow(n1, SYSCTLS),
  };
}

describe('printers against golden files taken from the real tools', () => {
  const m = buildModel();
  m.env.clock.run(1e9);
  for (const [file, text] of Object.entries(dumps(m))) {
    it(file, async () => {
      await expect(text).toMatchFileSnapshot(`../golden/${file}`);
    });
  }
});

// Live comparison: the same commands in real namespaces, printed by the real tools.
const why = missing({ root: true, tools: ['ip', 'bridge', 'sysctl'] });
describe.skipIf(why !== null)('printers against the live kernel', () => {
  const prefix = `kwt-linux-${process.pid}`;
  const names = ['n1', 'p1', 'ul'].map((n) => `${prefix}-${n}`);
  const sh = (args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  beforeAll(() => {
    for (const n of names) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', 'netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    for (const [where, tool, args] of TOPO) {
      const words = args.split(' ').map((w) => (w === 'ul' || w === 'p1' ? `${prefix}-${w}` : w));
      sh([tool, '-n', `${prefix}-${where}`, ...words]);
    }
    // linkwatch reports a bridge's operstate up to a second after its port came up.
    sh(['sleep', '1.5']);
  });
  afterAll(() => {
    for (const n of names) {
      try {
        sh(['ip', 'netns', 'del', n]);
      } catch {
        // already gone
      }
    }
  });
  it('ip addr, ip -d link, ip route, ip neigh, bridge fdb, sysctl match', () => {
    const m = buildModel(TOPO, prefix);
    const model = dumps(m);
    const run = (ns: string, cmd: string): string => sh(['ip', 'netns', 'exec', `${prefix}-${ns}`, 'sh', '-c', cmd]);
    const kernel: Record<string, string> = {
      'ip/node-addr.txt': run('n1', 'ip addr'),
      'ip/node-link.txt': run('n1', 'ip link'),
      'ip/node-link-details.txt': normaliseTimers(run('n1', 'ip -d link')),
      'ip/node-route.txt': run('n1', 'ip route'),
      'ip/node-route-local.txt': run('n1', 'ip route show table local'),
      'ip/node-route-all.txt': run('n1', 'ip route show table all'),
      'ip/node-neigh.txt': run('n1', 'ip neigh'),
      'bridge/node-fdb.txt': run('n1', 'bridge fdb show'),
      'ip/pod-addr.txt': run('p1', 'ip addr'),
      'ip/pod-route.txt': run('p1', 'ip route'),
      'sysctl/node.txt': run('n1', `sysctl ${SYSCTLS.join(' ')}`),
    };
    expect(model).toEqual(kernel);
  });
});
