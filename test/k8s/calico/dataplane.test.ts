// Felix's chains on a Canal cluster's forwarding path (two nodes, kube-proxy iptables mode):
// which Felix rules a packet meets, that pods still reach each other, Services and the
// internet (masqueraded once, by flanneld), and the whole iptables-save of a node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { show } from '../../../src/cli/show.js';
import { caliName } from '../../../src/k8s/cni/calico.js';
import { resolvePlace } from '../../../src/scenario/endpoints.js';
import { loadScenarioFile, loadScenarioText } from '../../../src/scenario/load.js';
import { startRuntime, type Runtime } from '../../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../../src/scenario/trace/exchange.js';

const CANAL = readFileSync(new URL('../../fixtures/kernel/two-node-canal.yaml', import.meta.url), 'utf8');
const rt = (): Runtime => startRuntime(loadScenarioText('two-node-canal.yaml', CANAL, []));

interface Hit {
  node: string;
  table: string;
  chain: string;
  rule: string;
}

function matched(r: ExchangeResult): Hit[] {
  const out: Hit[] = [];
  for (const s of r.steps) {
    if (s.type !== 'event' || s.event.kind !== 'nf.rule') continue;
    const e = s.event as unknown as Hit & { matched: boolean };
    if (e.matched) out.push({ node: e.node, table: e.table, chain: e.chain, rule: e.rule });
  }
  return out;
}

const CLIENT = caliName('default', 'client');
const SERVER = caliName('default', 'server');

describe('Felix on a Canal node: the forwarding path', () => {
  it('pod -> pod across nodes: egress profile on the sender\'s node, ingress profile on the receiver\'s, both ways', () => {
    const w = rt();
    const r = runExchange(w, resolvePlace(w, 'pod/default/client'), resolveTarget(w, 'pod/default/server:8080'), 'tcp');
    expect(r.delivered).toBe(true);
    const hits = matched(r);
    const on = (node: string, re: RegExp): boolean => hits.some((h) => h.node === node && h.table === 'filter' && re.test(h.rule));
    // node-a, the SYN from the client: dispatch to its from-endpoint chain, kns.default allows.
    expect(on('node-a', new RegExp(`^-A cali-from-wl-dispatch -i ${CLIENT} -m comment --comment "cali:\\S{16}" -g cali-fw-${CLIENT}$`))).toBe(true);
    expect(on('node-a', /^-A cali-pro-kns\.default -m comment --comment "cali:\S{16}" -m comment --comment "Profile kns\.default egress" -j MARK --set-xmark 0x10000\/0x10000$/)).toBe(true);
    expect(on('node-a', new RegExp(`^-A cali-fw-${CLIENT} -m comment --comment "cali:\\S{16}" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 -j RETURN$`))).toBe(true);
    // node-b: to the server's to-endpoint chain, kns.default's ingress allows.
    expect(on('node-b', new RegExp(`^-A cali-to-wl-dispatch -o ${SERVER} -m comment --comment "cali:\\S{16}" -g cali-tw-${SERVER}$`))).toBe(true);
    expect(on('node-b', /^-A cali-pri-kns\.default .*"Profile kns\.default ingress" -j MARK --set-xmark 0x10000\/0x10000$/)).toBe(true);
    // The reply: conntrack's ESTABLISHED accept at the top of each endpoint chain.
    expect(on('node-b', new RegExp(`^-A cali-fw-${SERVER} -m comment --comment "cali:\\S{16}" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT$`))).toBe(true);
    expect(on('node-a', new RegExp(`^-A cali-tw-${CLIENT} -m comment --comment "cali:\\S{16}" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT$`))).toBe(true);
    // Raw: the workload mark for the RPF check, which passes (the source routes back via the veth).
    expect(hits.some((h) => h.node === 'node-a' && h.table === 'raw' && /^-A cali-PREROUTING -i cali\+ .*-j MARK --set-xmark 0x80000\/0x80000$/.test(h.rule))).toBe(true);
    expect(hits.some((h) => /rpfilter/.test(h.rule))).toBe(false);
  });

  it('pod -> ClusterIP and pod -> internet still go through; the internet flow is masqueraded once, by flanneld', () => {
    const w = rt();
    const svc = runExchange(w, resolvePlace(w, 'pod/default/client'), resolveTarget(w, 'svc/default/echo:80'), 'tcp');
    expect(svc.delivered).toBe(true);
    const r = runExchange(w, resolvePlace(w, 'pod/default/client'), resolveTarget(w, '203.0.113.10:80'), 'tcp');
    expect(r.delivered).toBe(true);
    // The connection's one SNAT binding (other flows, CoreDNS's upstream queries, may be in the window).
    const ev = (x: (typeof r.steps)[number]): (Hit & { kind: string; how: string; manip: string; to: string; packet: number; matched: boolean }) | null =>
      x.type === 'event' ? (x.event as never) : null;
    const bindings = r.steps.map(ev).filter((e) => e && e.kind === 'nf.nat' && e.how === 'binding' && e.manip === 'SNAT' && / src=10\.42\.0\.\d+ dst=203\.0\.113\.10 /.test(e.to));
    expect(bindings).toHaveLength(1);
    const pkt = bindings[0]!.packet;
    const natHits = r.steps.map(ev).filter((e) => e && e.kind === 'nf.rule' && e.matched && e.table === 'nat' && e.packet === pkt);
    expect(natHits.filter((h) => /-j (MASQUERADE|SNAT)\b/.test(h!.rule)).map((h) => h!.rule)).toEqual(['-A FLANNEL-POSTRTG -s 10.42.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully']);
    // Felix's NAT-outgoing is not reached: flanneld's MASQUERADE ends the nat table first.
    expect(natHits.some((h) => h!.chain === 'cali-nat-outgoing' || h!.chain === 'cali-POSTROUTING')).toBe(false);
    // On the wire beyond node-a the client is node-a's address.
    const out = r.steps.filter((s) => s.type === 'frame' && s.node === 'node-a' && s.netns === 'root' && s.dev === 'eth0' && s.direction === 'out' && s.bytes[23] === 6);
    expect(out.length).toBeGreaterThan(0);
    for (const f of out) if (f.type === 'frame') expect(`${f.bytes[26]}.${f.bytes[27]}.${f.bytes[28]}.${f.bytes[29]}`).toBe('192.168.4.86');
  });

  it('node -> its own pod: cali-OUTPUT returns for cali+ (host to workload is not policed)', () => {
    const w = rt();
    const r = runExchange(w, resolvePlace(w, 'node/node-b'), resolveTarget(w, 'pod/default/server:8080'), 'tcp');
    expect(r.delivered).toBe(true);
    expect(matched(r).some((h) => h.node === 'node-b' && /^-A cali-OUTPUT -o cali\+ -m comment --comment "cali:\S{16}" -j RETURN$/.test(h.rule))).toBe(true);
  });
});

describe('iptables-save of a Canal node with Felix', () => {
  it('two-node Canal, node-a (kube-proxy iptables mode): the whole dump', async () => {
    const w = rt();
    const text = show(w, 'node-a', ['iptables-save']);
    // Felix's hooks are first in the kernel's chains it inserts into, its nat POSTROUTING hook last.
    expect(text).toMatch(/\*filter\n(:.*\n)+-A INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT\n/);
    expect(text).toContain('-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n-A POSTROUTING -m comment --comment "cali:0i8pjzKKPyA34aQD" -j cali-POSTROUTING\n-A ');
    await expect(text).toMatchFileSnapshot('../../golden/calico/two-node-canal-node-a-iptables-save.txt');
  });

  it('the seed\'s 192.168.4.88 (kube-proxy ipvs mode: forward-check, endpoint marks): the whole dump', async () => {
    const w = startRuntime(loadScenarioFile(new URL('../../../scenarios/seed.yaml', import.meta.url).pathname, []));
    const text = show(w, '192.168.4.88', ['iptables-save']);
    const veth = caliName('k8s', 'k8s-xxx-648c86cd45-qbhj9');
    expect(text).toContain(`-A cali-tw-${veth} `);
    expect(text).toMatch(new RegExp(`-A cali-set-endpoint-mark-wep-\\w -i ${veth} .*-g cali-sm-${veth}|-A cali-set-endpoint-mark -i ${veth} .*-g cali-sm-${veth}`));
    await expect(text).toMatchFileSnapshot('../../golden/seed/192.168.4.88-iptables-save.txt');
  });
});
