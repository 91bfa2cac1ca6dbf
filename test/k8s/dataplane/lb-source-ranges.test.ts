// loadBalancerSourceRanges from outside the cluster: the LB IP is routed to a node by the
// underlay router (as MetalLB's BGP announcement or a pass-through cloud LB would make it), so
// kube-proxy's KUBE-FW chain sees the client's own address. A client inside the allowed range
// reaches a backend through KUBE-FW -> KUBE-EXT -> KUBE-SVC -> KUBE-SEP; one outside it is
// dropped by KUBE-PROXY-FIREWALL. iptables-paths.test.ts has the in-cluster dropped case.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolvePlace } from '../../../src/scenario/endpoints.js';
import { loadScenarioText } from '../../../src/scenario/load.js';
import { startRuntime, type Runtime } from '../../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../../src/scenario/trace/exchange.js';
import { GATEWAY } from '../../../src/k8s/cluster/build.js';

const SCENARIO = readFileSync(new URL('../../fixtures/k8s/lb-source-ranges.yaml', import.meta.url), 'utf8');
const LB = '198.51.100.10';

function rt(routed = true): Runtime {
  const w = startRuntime(loadScenarioText('lb-source-ranges.yaml', SCENARIO, []));
  // The router's route for the LB IP, as a BGP peer announcing it with node-a as next hop.
  if (routed) w.world.log.ip(w.world.machines.get(GATEWAY)!.root, 'router/bgp', `route add ${LB} via 192.168.4.86 dev eth0`);
  return w;
}

/** The rules that matched, as iptables-save prints them, in trace order. */
function matched(r: ExchangeResult): string[] {
  const out: string[] = [];
  for (const s of r.steps) {
    if (s.type !== 'event' || s.event.kind !== 'nf.rule') continue;
    const e = s.event as unknown as { matched: boolean; rule: string };
    if (e.matched) out.push(e.rule);
  }
  return out;
}

describe('LoadBalancer with loadBalancerSourceRanges, LB IP routed to a node from outside', () => {
  it('a client inside the allowed range reaches a backend through KUBE-FW and KUBE-EXT, masqueraded', () => {
    const w = rt();
    const r = runExchange(w, resolvePlace(w, 'host/allowed'), resolveTarget(w, `${LB}:80`), 'tcp');
    expect(r.delivered).toBe(true);
    expect(r.response).toMatch(/^HTTP\/1\.1 200 OK \| Hostname: echo-/);
    const rules = matched(r);
    const at = (re: RegExp): number => rules.findIndex((x) => re.test(x));
    const svc = at(new RegExp(`^-A KUBE-SERVICES -d ${LB.replace(/\./g, '\\.')}/32 -p tcp -m comment --comment "default/walled loadbalancer IP" -m tcp --dport 80 -j KUBE-FW-`));
    const fw = at(/^-A KUBE-FW-\S+ -s 203\.0\.113\.0\/24 -m comment --comment "default\/walled loadbalancer IP" -j KUBE-EXT-/);
    const ext = at(/^-A KUBE-EXT-\S+ -m comment --comment "masquerade traffic for default\/walled external destinations" -j KUBE-MARK-MASQ$/);
    const sep = at(/^-A KUBE-SEP-\S+ -p tcp -m comment --comment "default\/walled" -m tcp -j DNAT --to-destination 10\.42\.\d+\.\d+:8080$/);
    expect(svc).toBeGreaterThanOrEqual(0);
    expect(fw).toBeGreaterThan(svc);
    expect(ext).toBeGreaterThan(fw);
    expect(sep).toBeGreaterThan(ext);
    // Never the firewall's drop, and the forwarded packet passes Felix's FORWARD chain.
    expect(rules.some((x) => /^-A KUBE-PROXY-FIREWALL .*-j DROP$/.test(x))).toBe(false);
    expect(rules).toContain('-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD');
    // eTP Cluster: the backend sees a node's address, not 203.0.113.7.
    const intoPod = r.steps.filter((s) => s.type === 'frame' && s.direction === 'in' && /^echo-/.test(s.netns) && s.bytes[23] === 6);
    expect(intoPod.length).toBeGreaterThan(0);
    for (const f of intoPod) if (f.type === 'frame') expect(`${f.bytes[26]}.${f.bytes[27]}.${f.bytes[28]}.${f.bytes[29]}`).not.toBe('203.0.113.7');
  });

  it('a client outside the range is dropped by KUBE-PROXY-FIREWALL and reaches no backend', () => {
    const w = rt();
    const r = runExchange(w, resolvePlace(w, 'host/outsider'), resolveTarget(w, `${LB}:80`), 'tcp', { timeout: 5e9 });
    expect(r.delivered).toBe(false);
    const rules = matched(r);
    expect(rules.some((x) => /^-A KUBE-FW-\S+ -m comment --comment "other traffic to default\/walled will be dropped by KUBE-PROXY-FIREWALL"$/.test(x))).toBe(true);
    expect(rules.some((x) => new RegExp(`^-A KUBE-PROXY-FIREWALL -d ${LB.replace(/\./g, '\\.')}/32 .*-j DROP$`).test(x))).toBe(true);
    expect(rules.some((x) => /^-A KUBE-EXT-/.test(x))).toBe(false);
    expect(r.steps.some((s) => s.type === 'frame' && /^echo-/.test(s.netns))).toBe(false);
  });

  it('without the route to a node the allowed client gets nowhere (the LB IP is not on any node)', () => {
    const w = rt(false);
    const r = runExchange(w, resolvePlace(w, 'host/allowed'), resolveTarget(w, `${LB}:80`), 'tcp', { timeout: 3e9 });
    expect(r.delivered).toBe(false);
    expect(matched(r).some((x) => /KUBE-FW-/.test(x))).toBe(false);
  });
});
