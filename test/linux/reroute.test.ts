// ip_route_me_harder after OUTPUT: a locally generated packet is routed again when mangle
// changed its mark (ipt_mangle_out re-routes for any change of mark, TOS or addresses) or
// NAT moved its destination; a mark set in raw (Felix's cali-OUTPUT clearing its bits) does
// not re-route. Seen as the number of ip_route_output decisions the packet gets.
import { describe, expect, it } from 'vitest';
import { ip, Netns } from '../../src/linux/netlink.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { Random } from '../../src/sim/random.js';
import { TraceRecorder, type TraceEventBase } from '../../src/sim/trace.js';
import { buildUdp } from '../../src/wire/build.js';
import { parseIpv4 } from '../../src/wire/ipv4-address.js';

function outputRoutes(rules: string): number {
  const rec = new TraceRecorder<TraceEventBase>();
  const env = { clock: new EventQueue(), rng: new Random(5), trace: null as never };
  const ns = new Netns(env, 'n', 'root');
  for (const c of ['link set lo up', 'link add v0 type veth peer name v1', 'link set v0 up', 'link set v1 up', 'addr add 10.0.0.1/24 dev v0']) ip(ns, c);
  const nf = new Netfilter(ns);
  nf.restore(rules);
  ns.registerHooks(nf.hookOps());
  env.trace = rec as never;
  ns.ipOutput(buildUdp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { srcPort: 4000, dstPort: 53 }));
  env.clock.run(1e9);
  return rec.events.filter((e) => e.kind === 'linux.fib' && e.step === 'ip_route_output').length;
}

describe('re-routing after the OUTPUT hooks', () => {
  it('no change: one route lookup', () => {
    expect(outputRoutes('*filter\n-A OUTPUT -j ACCEPT\nCOMMIT\n')).toBe(1);
  });
  it('a mark set in mangle OUTPUT: routed again', () => {
    expect(outputRoutes('*mangle\n-A OUTPUT -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n')).toBe(2);
  });
  it('a mark set in raw OUTPUT: not routed again', () => {
    expect(outputRoutes('*raw\n-A OUTPUT -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n')).toBe(1);
  });
  it('mangle setting the mark it already had: not routed again', () => {
    expect(outputRoutes('*mangle\n-A OUTPUT -j MARK --set-xmark 0x0/0xffffffff\nCOMMIT\n')).toBe(1);
  });
  it('a DNAT in nat OUTPUT: routed again towards the new destination', () => {
    expect(outputRoutes('*nat\n-A OUTPUT -d 10.0.0.2/32 -p udp -j DNAT --to-destination 10.0.0.3\nCOMMIT\n')).toBe(2);
  });
});
