// Namespace ids (peernet2id_alloc) as `ip link` shows a veth peer in another namespace: the
// creating namespace gives the peer's namespace an id at once, the lowest free; a move gives
// ids on both sides; a namespace that has none yet gives one when dumped. A peer namespace
// with a /var/run/netns name prints as `link-netns NAME`, one without as `link-netnsid N`.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/tools.js';
import { createNetns, ip, type Netns } from '../../src/linux/netlink.js';
import { ipLink } from '../../src/linux/print/ip-link.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { Random } from '../../src/sim/random.js';

function model(): Record<string, Netns> {
  const env = { clock: new EventQueue(), rng: new Random(9), trace: null };
  const ns: Record<string, Netns> = { r: createNetns(env, 'm', 'r'), p1: createNetns(env, 'm', 'p1'), p2: createNetns(env, 'm', 'p2') };
  const resolve = (n: string): Netns | undefined => ns[n];
  ip(ns.r!, 'link add v1 type veth peer name eth0 netns p1', resolve);
  ip(ns.p2!, 'link add eth0 type veth peer name v2', resolve);
  ip(ns.p2!, 'link set v2 netns r', resolve);
  return ns;
}

/** `ip netns list-id` as pairs "id name" for the namespaces the model knows. */
function listId(ns: Netns, names: Record<string, Netns>): string[] {
  const out: string[] = [];
  for (let id = 0; id < 8; id++) {
    const peer = ns.peerByNsid(id);
    if (peer) out.push(`${id} ${Object.entries(names).find(([, v]) => v === peer)![0]}`);
  }
  return out;
}

describe('namespace ids in the model', () => {
  it('creator first, a move on both sides, the rest when dumped; unnamed peers print as ids', () => {
    const ns = model();
    expect(listId(ns.r!, ns)).toEqual(['0 p1', '1 p2']);
    expect(listId(ns.p2!, ns)).toEqual(['0 r']);
    expect(listId(ns.p1!, ns)).toEqual([]);
    expect(ipLink(ns.p1!)).toMatch(/link-netns r$/m);
    expect(listId(ns.p1!, ns)).toEqual(['0 r']);
    ns.r!.mountName = null;
    ns.p2!.mountName = null;
    expect(ipLink(ns.p1!)).toMatch(/^ {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 0$/m);
    expect(ipLink(ns.r!, { dev: 'v2' })).toMatch(/link-netnsid 1$/m);
  });
});

const why = missing({ root: true, tools: ['ip'] });
describe.skipIf(why !== null)('namespace ids against the live kernel', () => {
  const P = `kwt-nsid-${process.pid}-`;
  const sh = (args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  afterAll(() => {
    for (const n of ['r', 'p1', 'p2']) {
      try {
        sh(['ip', 'netns', 'del', P + n]);
      } catch {
        // already gone
      }
    }
  });
  it('ip netns list-id gives the same ids, before and after a dump', () => {
    for (const n of ['r', 'p1', 'p2']) sh(['ip', 'netns', 'add', P + n]);
    sh(['ip', '-n', `${P}r`, 'link', 'add', 'v1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', `${P}p1`]);
    sh(['ip', '-n', `${P}p2`, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'v2']);
    sh(['ip', '-n', `${P}p2`, 'link', 'set', 'v2', 'netns', `${P}r`]);
    const real = (n: string): string[] =>
      sh(['ip', '-n', P + n, 'netns', 'list-id'])
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const m = /^nsid (\d+) \(iproute2 netns name: (\S+)\)$/.exec(l)!;
          return `${m[1]} ${m[2]!.slice(P.length)}`;
        });
    const ns = model();
    expect(real('r')).toEqual(listId(ns.r!, ns));
    expect(real('p2')).toEqual(listId(ns.p2!, ns));
    expect(real('p1')).toEqual(listId(ns.p1!, ns));
    sh(['ip', '-n', `${P}p1`, 'link', 'show']);
    ipLink(ns.p1!);
    expect(real('p1')).toEqual(listId(ns.p1!, ns));
  });
});
