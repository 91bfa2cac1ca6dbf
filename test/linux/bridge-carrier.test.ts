// A bridge's carrier, operstate and address through its life, against the live kernel:
// untouched after creation it keeps its carrier (UNKNOWN, LOWER_UP); created with an
// address, or once a port came and went, no live port means NO-CARRIER/DOWN (docker0); with
// no port left and no address set, its address is zero (br_stp_recalculate_bridge_id).
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/tools.js';
import { ip, Netns } from '../../src/linux/netlink.js';
import { ipLink } from '../../src/linux/print/ip-link.js';
import { ipRoute } from '../../src/linux/print/ip-route.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { Random } from '../../src/sim/random.js';

const CMDS = [
  'link add b1 type bridge',
  'link set b1 up',
  'link add b2 address 02:42:ac:11:00:02 type bridge',
  'addr add 172.17.0.1/16 brd + dev b2',
  'link set b2 up',
  'link add b3 type bridge',
  'link set b3 up',
  'link add vC address 02:00:00:00:00:0c type veth peer name vD address 02:00:00:00:00:0d',
  'link set vC master b3',
  'link set vC up',
  'link set vD up',
  'link set vC nomaster',
];

function model(): Netns {
  const ns = new Netns({ clock: new EventQueue(), rng: new Random(7), trace: null }, 'n', 'b');
  for (const c of CMDS) ip(ns, c);
  return ns;
}

/** b1's address is random on both sides: the only thing normalised. */
function norm(text: string): string {
  return text.replace(/^(\d+: b1: .*\n {4}link\/ether )[0-9a-f:]{17}/m, '$1<random>');
}

describe('bridge carrier in the model', () => {
  it('untouched: carrier on, UNKNOWN; made with an address: NO-CARRIER, DOWN, its route linkdown; after its last port left: zero address', () => {
    const ns = model();
    const text = ipLink(ns);
    expect(text).toMatch(/^\d+: b1: <BROADCAST,MULTICAST,UP,LOWER_UP> .* state UNKNOWN /m);
    expect(text).toMatch(/^\d+: b2: <NO-CARRIER,BROADCAST,MULTICAST,UP> .* state DOWN /m);
    expect(text).toMatch(/^\d+: b3: <NO-CARRIER,BROADCAST,MULTICAST,UP> .* state DOWN [^\n]*\n {4}link\/ether 00:00:00:00:00:00 /m);
    expect(ipRoute(ns)).toBe('172.17.0.0/16 dev b2 proto kernel scope link src 172.17.0.1 linkdown \n');
  });

  it('options after `type bridge` are the bridge\'s own: an address there is refused as iproute2 does', () => {
    const ns = model();
    expect(() => ip(ns, 'link add b9 type bridge address 02:42:ac:11:00:09')).toThrow('bridge: unknown command "address"?');
    expect(ipLink(ns)).not.toContain('b9');
  });
});

const why = missing({ root: true, tools: ['ip'] });
describe.skipIf(why !== null)('bridge carrier against the live kernel', () => {
  const name = `kwt-linux-${process.pid}-br`;
  const sh = (args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  afterAll(() => {
    try {
      sh(['ip', 'netns', 'del', name]);
    } catch {
      // already gone
    }
  });
  it('ip link and ip route match', () => {
    sh(['ip', 'netns', 'add', name]);
    sh(['ip', 'netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    for (const c of CMDS) sh(['ip', '-n', name, ...c.split(' ')]);
    // linkwatch applies carrier changes to the operstate within a second.
    sh(['sleep', '1.5']);
    const run = (cmd: string): string => sh(['ip', 'netns', 'exec', name, 'sh', '-c', cmd]);
    const ns = model();
    expect(norm(ipLink(ns))).toBe(norm(run('ip link')));
    expect(ipRoute(ns)).toBe(run('ip route'));
  });
});
