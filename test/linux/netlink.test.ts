import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/sim/event-queue.js';
import { Random } from '../../src/sim/random.js';
import { formatIpv4, parseIpv4, prefixMask, type Ipv4Addr } from '../../src/wire/ipv4-address.js';
import { formatMac } from '../../src/wire/mac-address.js';
import { FibTable, type Route } from '../../src/linux/fib.js';
import { ip, linkAdd, Netns } from '../../src/linux/netlink.js';
import type { BridgeDevice } from '../../src/linux/link/bridge.js';
import { ipLink } from '../../src/linux/print/ip-link.js';
import { ipRoute } from '../../src/linux/print/ip-route.js';

const env = () => ({ clock: new EventQueue(), rng: new Random(1), trace: null });

describe('FibTable', () => {
  const route = (dst: number, len: number, metric: number, seq: number): Route => ({
    table: 254, type: 'unicast', dst: ((dst & prefixMask(len)) >>> 0) as Ipv4Addr, len, tos: 0, via: 0 as Ipv4Addr, dev: null,
    proto: 'boot', scope: 'link', prefsrc: 0 as Ipv4Addr, metric, onlink: false, mtu: 0, seq,
  });

  it('longest prefix match, lowest metric among equals, agrees with a linear scan', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
        (specs, dsts) => {
          const t = new FibTable(254);
          const all: Route[] = [];
          specs.forEach(([d, l, m], i) => {
            const r = route(d, l, m, i);
            if (all.some((x) => x.dst === r.dst && x.len === r.len && x.metric === r.metric)) return;
            all.push(r);
            t.insert(r);
          });
          for (const d of dsts) {
            const matching = all.filter((r) => ((d & prefixMask(r.len)) >>> 0) === r.dst);
            matching.sort((a, b) => b.len - a.len || a.metric - b.metric || a.seq - b.seq);
            expect(t.lookup(d as Ipv4Addr)).toBe(matching[0]);
          }
          // Removing everything empties the table.
          for (const r of all) expect(t.remove(r)).toBe(true);
          expect(t.size).toBe(0);
          expect(t.lookup(dsts[0]! as Ipv4Addr)).toBeUndefined();
        },
      ),
    );
  });
});

describe('links', () => {
  it('ifindex: per namespace, lo is 1, a veth peer is registered first, a moved device keeps its index if free', () => {
    const e = env();
    const a = new Netns(e, 'n', 'a');
    const b = new Netns(e, 'n', 'b');
    ip(a, 'link add x type veth peer name y');
    expect([a.mustDev('y').ifindex, a.mustDev('x').ifindex]).toEqual([2, 3]);
    ip(a, 'link add p type veth peer name eth0 netns b', (n) => (n === 'b' ? b : undefined));
    expect([b.mustDev('eth0').ifindex, a.mustDev('p').ifindex]).toEqual([2, 4]);
    ip(a, 'link set y netns b', (n) => (n === 'b' ? b : undefined));
    expect(b.mustDev('y').ifindex).toBe(3); // 3 was free in b
    ip(b, 'link add q type dummy');
    expect(b.mustDev('q').ifindex).toBe(4); // the counter continues after the last index handed out
    expect(ipLink(a, { dev: 'x' })).toContain('3: x@if3: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT');
    expect(ipLink(a, { dev: 'x' })).toContain('link-netns b');
  });

  it('a moved device that clashes gets a new index', () => {
    const e = env();
    const a = new Netns(e, 'n', 'a');
    const b = new Netns(e, 'n', 'b');
    ip(a, 'link add x type dummy'); // 2 in a
    ip(b, 'link add z type dummy'); // 2 in b
    ip(a, 'link set x netns b', () => b);
    expect(b.mustDev('x').ifindex).toBe(3);
  });

  it('the bridge MAC follows the lowest port MAC unless it was set', () => {
    const ns = new Netns(env(), 'n', 'a');
    ip(ns, 'link add br0 type bridge');
    const br = ns.mustDev('br0') as BridgeDevice;
    ip(ns, 'link add v1 address 02:00:00:00:00:30 type veth peer name w1');
    ip(ns, 'link add v2 address 02:00:00:00:00:20 type veth peer name w2');
    ip(ns, 'link set v1 master br0');
    expect(formatMac(br.mac)).toBe('02:00:00:00:00:30');
    ip(ns, 'link set v2 master br0');
    expect(formatMac(br.mac)).toBe('02:00:00:00:00:20');
    ip(ns, 'link set v2 nomaster');
    expect(formatMac(br.mac)).toBe('02:00:00:00:00:30');
    ip(ns, 'link set br0 address 02:00:00:00:00:01');
    ip(ns, 'link set v2 master br0');
    expect(formatMac(br.mac)).toBe('02:00:00:00:00:01');
    expect(br.fdbLines(br)).toEqual(['02:00:00:00:00:01 dev br0 master br0 permanent']);
  });

  it('random MACs are locally administered unicast and reproducible from the seed', () => {
    const macs = (seed: number) => {
      const ns = new Netns({ clock: new EventQueue(), rng: new Random(seed), trace: null }, 'n', 'a');
      return [1, 2, 3].map((i) => linkAdd(ns, { name: `d${i}`, kind: 'dummy' }).mac);
    };
    const m = macs(9);
    expect(macs(9)).toEqual(m);
    expect(macs(10)).not.toEqual(m);
    for (const x of m) expect(parseInt(formatMac(x).slice(0, 2), 16) & 3).toBe(2);
  });
});

describe('addresses and routes', () => {
  it('the kernel routes of an address come and go with the link', () => {
    const ns = new Netns(env(), 'n', 'a');
    ip(ns, 'link add x type veth peer name y');
    ip(ns, 'addr add 10.1.0.5/24 dev x');
    expect(ipRoute(ns, { table: 'all' })).toBe('local 10.1.0.5 dev x table local proto kernel scope host src 10.1.0.5 \n');
    ip(ns, 'link set x up');
    ip(ns, 'link set y up');
    expect(ipRoute(ns)).toBe('10.1.0.0/24 dev x proto kernel scope link src 10.1.0.5 \n');
    ip(ns, 'route add 10.9.0.0/16 via 10.1.0.1');
    ip(ns, 'link set x down');
    expect(ipRoute(ns)).toBe('');
    expect(ipRoute(ns, { table: 'all' })).toBe('local 10.1.0.5 dev x table local proto kernel scope host src 10.1.0.5 \n');
    ip(ns, 'addr del 10.1.0.5/24 dev x');
    expect(ipRoute(ns, { table: 'all' })).toBe('');
  });

  it('route replace swaps the route of the same prefix and metric; del removes it', () => {
    const ns = new Netns(env(), 'n', 'a');
    ip(ns, 'link add x type veth peer name y');
    ip(ns, 'link set x up');
    ip(ns, 'addr add 10.1.0.5/24 dev x');
    ip(ns, 'route replace 10.2.0.0/16 via 10.1.0.1');
    ip(ns, 'route replace 10.2.0.0/16 via 10.1.0.2');
    ip(ns, 'route add 10.2.0.0/16 via 10.1.0.3 metric 10');
    expect(ipRoute(ns)).toContain('10.2.0.0/16 via 10.1.0.2 dev x linkdown \n10.2.0.0/16 via 10.1.0.3 dev x metric 10 linkdown \n');
    const r = ns.fibLookup(parseIpv4('10.2.3.4'));
    expect(r && formatIpv4(r.via)).toBe('10.1.0.2');
    ip(ns, 'route del 10.2.0.0/16 metric 0');
    const r2 = ns.fibLookup(parseIpv4('10.2.3.4'));
    expect(r2 && formatIpv4(r2.via)).toBe('10.1.0.3');
    expect(() => ip(ns, 'route del 10.3.0.0/16')).toThrow('No such process');
  });

  it('inet_select_addr: the first primary address in the next hop subnet, else the first usable one', () => {
    const ns = new Netns(env(), 'n', 'a');
    ip(ns, 'link add x type veth peer name y');
    ip(ns, 'link set x up');
    ip(ns, 'addr add 10.1.0.5/24 dev x');
    ip(ns, 'addr add 10.2.0.5/24 dev x');
    ip(ns, 'route add 10.3.0.0/16 via 10.2.0.1 dev x');
    const r = ns.routeOutput(parseIpv4('10.3.0.9'));
    expect(typeof r !== 'string' && formatIpv4(r.src)).toBe('10.2.0.5');
    ip(ns, 'route add default via 10.1.0.1 dev x src 10.2.0.5');
    const d = ns.routeOutput(parseIpv4('8.8.8.8'));
    expect(typeof d !== 'string' && formatIpv4(d.src)).toBe('10.2.0.5');
    expect(ns.addressType(parseIpv4('10.1.0.255'))).toBe('BROADCAST');
    expect(ns.addressType(parseIpv4('10.1.0.5'))).toBe('LOCAL');
    expect(ns.selectSourceAddress('x', parseIpv4('10.1.0.77'))).toBe(parseIpv4('10.1.0.5'));
  });
});

describe('link down side effects', () => {
  it('neighbours on the device go (permanent too); routes through it go; its local route stays', () => {
    const ns = new Netns(env(), 'n', 'a');
    ip(ns, 'link add x type veth peer name y');
    ip(ns, 'link set x up');
    ip(ns, 'link set y up');
    ip(ns, 'addr add 10.1.0.5/24 dev x');
    ip(ns, 'neigh add 10.1.0.9 lladdr 02:00:00:00:00:09 dev x nud permanent');
    expect(ns.mustDev('x').neighs.size).toBe(1);
    ip(ns, 'link set x down');
    expect(ns.mustDev('x').neighs.size).toBe(0);
    expect(ipRoute(ns, { table: 'all' })).toBe('local 10.1.0.5 dev x table local proto kernel scope host src 10.1.0.5 \n');
    // Carrier loss (the veth peer goes down) keeps only the permanent ones.
    ip(ns, 'link set x up');
    ip(ns, 'neigh add 10.1.0.7 lladdr 02:00:00:00:00:07 dev x nud permanent');
    ip(ns, 'neigh add 10.1.0.8 lladdr 02:00:00:00:00:08 dev x nud stale');
    ip(ns, 'link set y down');
    expect([...ns.mustDev('x').neighs.keys()]).toEqual([0x0a010007]);
  });
});

describe('bridge MTU', () => {
  it('follows the smallest port MTU until the user sets one (checked on Linux 6.18)', () => {
    const ns = new Netns(env(), 'n', 'a');
    ip(ns, 'link add br0 type bridge');
    ip(ns, 'link add v1 mtu 1450 type veth peer name w1');
    ip(ns, 'link add v2 mtu 1400 type veth peer name w2');
    const mtu = () => ns.mustDev('br0').mtu;
    ip(ns, 'link set v1 master br0');
    expect(mtu()).toBe(1450);
    ip(ns, 'link set v2 master br0');
    expect(mtu()).toBe(1400);
    ip(ns, 'link set v2 nomaster');
    expect(mtu()).toBe(1450);
    ip(ns, 'link set v1 mtu 1300');
    expect(mtu()).toBe(1300);
    ip(ns, 'link set br0 mtu 1200');
    ip(ns, 'link set v1 mtu 1450');
    expect(mtu()).toBe(1200);
    ip(ns, 'link set v1 nomaster');
    expect(mtu()).toBe(1200);
  });
});

describe('robustness', () => {
  it('any sequence of ip/bridge commands either applies or throws a clear error, and printers keep working', async () => {
    const { bridge } = await import('../../src/linux/netlink.js');
    const { ipAddr } = await import('../../src/linux/print/ip-addr.js');
    const { ipNeigh } = await import('../../src/linux/print/ip-neigh.js');
    const { bridgeFdb } = await import('../../src/linux/print/bridge-fdb.js');
    const dev = fc.constantFrom('a', 'b', 'br0', 'vx', 'lo', 'nosuch');
    const addr = fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.1.1', '300.1.1.1', '10.0.0.0');
    const len = fc.constantFrom('8', '24', '32', '33');
    const cmd = fc.oneof(
      fc.tuple(dev).map(([d]) => `ip link add ${d} type veth peer name ${d}p`),
      fc.tuple(dev).map(([d]) => `ip link add ${d} type bridge`),
      fc.tuple(dev, dev).map(([d, l]) => `ip link add ${d} type vxlan id 4 dev ${l} dstport 8472`),
      fc.tuple(dev, fc.constantFrom('up', 'down', 'mtu 1400', 'mtu 20', 'master br0', 'nomaster', 'address 02:00:00:00:00:aa')).map(([d, o]) => `ip link set ${d} ${o}`),
      fc.tuple(dev).map(([d]) => `ip link del ${d}`),
      fc.tuple(addr, len, dev).map(([a, l, d]) => `ip addr add ${a}/${l} dev ${d}`),
      fc.tuple(addr, len, dev).map(([a, l, d]) => `ip addr del ${a}/${l} dev ${d}`),
      fc.tuple(addr, addr, dev).map(([a, g, d]) => `ip route add ${a}/32 via ${g} dev ${d}`),
      fc.tuple(addr, dev).map(([a, d]) => `ip route replace ${a}/32 dev ${d} onlink`),
      fc.tuple(addr).map(([a]) => `ip route del ${a}/32`),
      fc.tuple(addr, dev).map(([a, d]) => `ip neigh replace ${a} lladdr 02:00:00:00:00:01 dev ${d} nud permanent`),
      fc.tuple(dev).map(([d]) => `bridge fdb append 02:00:00:00:00:02 dev ${d} dst 10.0.0.9 self permanent`),
      fc.constant('ip route add default via'),
      fc.constant('ip frob'),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 30 }), (cmds) => {
        const ns = new Netns(env(), 'n', 'r');
        for (const c of cmds) {
          const [tool, ...rest] = c.split(' ');
          try {
            if (tool === 'ip') ip(ns, rest.join(' '));
            else bridge(ns, rest.join(' '));
          } catch (e) {
            expect((e as Error).name).toMatch(/^(NetlinkError|AddressParseError)$/);
            expect((e as Error).message.length).toBeGreaterThan(0);
            expect(e).not.toBeInstanceOf(TypeError);
          }
          ipAddr(ns);
          ipLink(ns, { details: true });
          ipRoute(ns, { table: 'all' });
          ipNeigh(ns, { all: true });
          bridgeFdb(ns);
        }
      }),
      { numRuns: 200 },
    );
  });
});
