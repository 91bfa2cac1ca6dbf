// The default scenario and a two-node flannel cluster, end to end: what `kubewire show`
// prints there (against the seed notes' own output), and exchanges through the whole model.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { show } from '../../src/cli/show.js';
import { digCommand } from '../../src/cli/dig.js';
import { writePcap } from '../../src/cli/trace-cli.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile, loadScenarioText } from '../../src/scenario/load.js';
import { startRuntime, type Runtime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult, type Proto } from '../../src/scenario/trace/exchange.js';
import { traceJson } from '../../src/scenario/trace/json.js';
import { captureProblems, tsharkFrames } from '../helpers/tshark.js';
import { missing } from '../helpers/tools.js';
import { readCapture } from '../../src/pcap/reader.js';

const SEED = new URL('../../scenarios/seed.yaml', import.meta.url).pathname;
const FLANNEL = new URL('../../scenarios/two-node-flannel.yaml', import.meta.url).pathname;
const POD = 'pod/k8s/k8s-xxx-648c86cd45-qbhj9';

function seed(sets: string[] = []): Runtime {
  return startRuntime(loadScenarioFile(SEED, sets));
}
function ex(rt: Runtime, from: string, to: string, proto: Proto = 'tcp'): ExchangeResult {
  return runExchange(rt, resolvePlace(rt, from), resolveTarget(rt, to), proto);
}
function devicesOut(r: ExchangeResult): string[] {
  return r.steps.filter((s) => s.type === 'frame' && s.direction === 'out').map((s) => (s.type === 'frame' ? `${s.node}/${s.netns}/${s.dev}` : ''));
}

describe('kubewire show on the default scenario', () => {
  const rt = seed();

  it("192.168.4.88 ip route: the seed's flannel routes, the pod's cali route, connected and default", async () => {
    const text = show(rt, '192.168.4.88', ['ip', 'route']);
    for (const l of ['default via 192.168.4.1 dev eth0 ', '10.42.0.0/24 via 10.42.0.0 dev flannel.1 onlink ', '10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink ', '10.42.2.0/24 via 10.42.2.0 dev flannel.1 onlink ', '10.42.3.0/24 via 10.42.3.0 dev flannel.1 onlink ', '10.42.5.0/24 via 10.42.5.0 dev flannel.1 onlink ', '192.168.4.0/24 dev eth0 proto kernel scope link src 192.168.4.88 ']) {
      expect(text.split('\n')).toContain(l);
    }
    expect(text).toMatch(/^10\.42\.4\.15 dev cali[0-9a-f]{11} scope link $/m);
    // The seed's other two lines: CentOS's link-local route and docker0's (no container on
    // it, so `linkdown` as today's iproute2 prints it; the seed's older one did not).
    expect(text.split('\n')).toContain('169.254.0.0/16 dev eth0 scope link metric 1002 ');
    expect(text.split('\n')).toContain('172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown ');
    await expect(text).toMatchFileSnapshot('../golden/seed/192.168.4.88-ip-route.txt');
  });

  it("192.168.4.88 ip neigh: the seed's five PERMANENT flannel.1 entries", () => {
    // Exactly as the seed's node printed them, in its order (its boot's ARP hash order).
    expect(show(rt, '192.168.4.88', ['ip', 'neigh'])).toBe(
      [
        '10.42.2.0 dev flannel.1 lladdr 62:6d:e7:6f:f3:e9 PERMANENT ',
        '10.42.1.0 dev flannel.1 lladdr 9a:b6:27:23:b2:21 PERMANENT ',
        '10.42.0.0 dev flannel.1 lladdr a6:eb:6d:4e:48:3a PERMANENT ',
        '10.42.3.0 dev flannel.1 lladdr 16:8e:4f:5c:1e:63 PERMANENT ',
        '10.42.5.0 dev flannel.1 lladdr 0a:14:55:b6:2e:97 PERMANENT ',
      ].join('\n') + '\n',
    );
    expect(show(rt, '192.168.4.88', ['cat', '/proc/sys/kernel/random/boot_id'])).toBe('df8b1085-dd3c-40f9-9ac3-4204175d8f45\n');
    expect(show(rt, '192.168.4.86', ['cat', '/proc/sys/kernel/random/boot_id'])).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n$/);
  });

  it('veth peers name their namespace as a real node prints it: docker sandboxes and the host by id, containerd sandboxes by cni-<uuid>', () => {
    // dockershim's sandbox namespaces are not under /var/run/netns: `link-netnsid N`.
    const host = show(rt, '192.168.4.88', ['ip', 'link']);
    expect(host).toMatch(/^\d+: cali[0-9a-f]{11}@if\d+: .*\n {4}link\/ether ee:ee:ee:ee:ee:ee brd ff:ff:ff:ff:ff:ff link-netnsid \d+$/m);
    expect(host).not.toContain('link-netns ');
    expect(show(rt, POD, ['ip', 'addr'])).toMatch(/^ {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 0$/m);
    // containerd's are /var/run/netns/cni-<uuid>.
    const fl = startRuntime(loadScenarioFile(FLANNEL, []));
    expect(show(fl, 'node-a', ['ip', 'link'])).toMatch(/^\d+: veth[0-9a-f]{8}@if\d+: .*\n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netns cni-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/m);
  });

  it("the pod's /etc/resolv.conf is the seed's three lines", () => {
    expect(show(rt, 'pod/k8s/backend-service-555d6684b5-9kwc7', ['cat', '/etc/resolv.conf'])).toBe('nameserver 10.43.0.10\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  });

  it('the pod sees eth0 as /32 with brd, MTU 1450, peer in the root namespace', () => {
    const a = show(rt, POD, ['ip', 'addr']);
    expect(a).toMatch(/^3: eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 /m);
    expect(a).toContain('    inet 10.42.4.15/32 brd 10.42.4.15 scope global eth0\n');
    expect(show(rt, POD, ['ip', 'route'])).toBe('default via 169.254.1.1 dev eth0 \n169.254.1.1 dev eth0 scope link \n');
  });

  it("ipvsadm -Ln on 192.168.4.86 has the seed's backend-service (golden) and kube-ipvs0 holds the VIP", async () => {
    const text = show(rt, '192.168.4.86', ['ipvsadm', '-Ln']);
    expect(text).toContain('TCP  10.43.199.15:18888 rr\n  -> 10.42.0.134:18888            Masq    1      0          0         \n  -> 10.42.3.171:18888            Masq    1      0          0         \n');
    await expect(text).toMatchFileSnapshot('../golden/seed/192.168.4.86-ipvsadm-Ln.txt');
    expect(show(rt, '192.168.4.87', ['ip', 'addr'])).toContain('    inet 10.43.199.15/32 scope global kube-ipvs0\n');
    const sets = show(rt, '192.168.4.86', ['ipset', 'list', 'KUBE-CLUSTER-IP']);
    expect(sets).toContain('10.43.199.15,tcp:18888');
    await expect(show(rt, '192.168.4.86', ['ipset', 'list'])).toMatchFileSnapshot('../golden/seed/192.168.4.86-ipset-list.txt');
  });
});

describe('exchanges on the default scenario', () => {
  it('pod -> pod across nodes: delivered over flannel.1 both ways', () => {
    const r = ex(seed(), POD, '10.42.3.171:18888');
    expect(r.delivered).toBe(true);
    expect(r.response).toContain('backend-service-555d6684b5-9kwc7');
    const out = devicesOut(r);
    expect(out).toContain('192.168.4.88/root/flannel.1');
    expect(out).toContain('192.168.4.90/root/flannel.1');
    const vxlanFrames = r.steps.filter((s) => s.type === 'frame' && s.dev === 'eth0' && s.netns === 'root' && s.bytes[23] === 17);
    expect(vxlanFrames.length).toBeGreaterThan(4);
  });

  it('pod -> ClusterIP via IPVS: DNAT to one backend, reply un-NATed; the next connection goes to the other (rr)', () => {
    const rt = seed();
    const a = ex(rt, POD, '10.43.199.15:18888');
    const b = ex(rt, POD, '10.43.199.15:18888');
    expect(a.delivered && b.delivered).toBe(true);
    const backends = [traceJson(a).backend, traceJson(b).backend];
    expect(new Set(backends)).toEqual(new Set(['10.42.0.134:18888', '10.42.3.171:18888']));
    const snat = a.steps.filter((s) => s.type === 'event' && s.event.kind === 'ipvs.nat' && (s.event as unknown as { direction: string }).direction === 'snat');
    expect(snat.length).toBeGreaterThan(0);
  });

  it('iptables mode: DNAT by the statistic match, rules that matched in the trace, reply un-NATed by conntrack', () => {
    const r = ex(seed(['kubeProxy.mode=iptables']), POD, '10.43.199.15:18888');
    expect(r.delivered).toBe(true);
    const rules = r.steps.flatMap((s) => (s.type === 'event' && s.event.kind === 'nf.rule' && (s.event as unknown as { matched: boolean }).matched ? [(s.event as unknown as { rule: string }).rule] : []));
    expect(rules.some((x) => /^-A KUBE-SERVICES -d 10\.43\.199\.15\/32 -p tcp .* -j KUBE-SVC-/.test(x))).toBe(true);
    expect(rules.some((x) => /-j DNAT --to-destination 10\.42\.(0\.134|3\.171):18888/.test(x))).toBe(true);
    expect(traceJson(r).backend).toMatch(/^10\.42\.(0\.134|3\.171):18888$/);
  });

  it('an unused pod IP on a Canal node has no route there: the packet leaves by the default route and dies unanswered', () => {
    const r = ex(seed(), POD, '10.42.3.250', 'icmp');
    expect(r.delivered).toBe(false);
    expect(r.reason).toBe('timed out');
    expect(devicesOut(r)).toContain('192.168.4.90/root/eth0');
  });

  it('a trace pcapng decodes in tshark with no malformed frame and good checksums', async (ctx) => {
    const why = missing({ tools: ['tshark'] });
    if (why) ctx.skip();
    const r = ex(seed(), POD, '10.43.199.15:18888');
    const file = join(mkdtempSync(join(tmpdir(), 'kw-seed-')), 'trace.pcapng');
    writePcap(file, [r], 'test');
    const frames = tsharkFrames(file);
    expect(frames.length).toBe(r.steps.filter((s) => s.type === 'frame').length);
    expect(captureProblems(frames)).toEqual([]);
    expect(new Set(frames.map((f) => f.interfaceName))).toContain('192.168.4.88/root/flannel.1');
    expect(readFileSync(file).length).toBeGreaterThan(1000);
  });
});

describe('a two-node flannel cluster', () => {
  const rt = () => startRuntime(loadScenarioFile(FLANNEL));

  it('pod -> Service (iptables mode) across the cni0 bridge and VXLAN, UDP too', () => {
    const w = rt();
    expect(ex(w, 'pod/default/client', 'svc/default/echo:80').delivered).toBe(true);
    expect(ex(w, 'pod/default/client', 'svc/default/echo:5353', 'udp').delivered).toBe(true);
  });

  it('same-node pod -> pod stays on cni0', () => {
    const w = rt();
    const other = [...w.world.pods.values()].find((p) => p.node.name === 'node-a' && p.pod.metadata.name.startsWith('echo-'))!;
    const r = ex(w, 'pod/default/client', `${other.pod.status!.podIP}:8080`);
    expect(r.delivered).toBe(true);
    expect(devicesOut(r).every((d) => d.startsWith('node-a/'))).toBe(true);
    // Bridged between two cni0 ports: the host veths carry it, flannel.1 never does.
    expect(devicesOut(r).filter((d) => /^node-a\/root\/veth[0-9a-f]{8}$/.test(d)).length).toBeGreaterThan(0);
    expect(devicesOut(r)).not.toContain('node-a/root/flannel.1');
  });

  it('an unused pod IP behind flannel.1: ARP on the far cni0 fails, ICMP host unreachable comes back', () => {
    const r = ex(rt(), 'pod/default/client', '10.42.1.99', 'icmp');
    expect(r.delivered).toBe(false);
    expect(r.reason).toBe('ICMP type 3 code 1 from 10.42.1.0');
  });

  it('pod -> outside is masqueraded by flanneld to the node IP', () => {
    const r = ex(rt(), 'pod/default/client', '203.0.113.10:80');
    expect(r.delivered).toBe(true);
    const masq = r.steps.filter((s) => s.type === 'event' && s.event.kind === 'nf.rule' && (s.event as unknown as { matched: boolean; rule: string }).matched && /MASQUERADE/.test((s.event as unknown as { rule: string }).rule));
    expect(masq.length).toBeGreaterThan(0);
    const atWeb = r.steps.find((s) => s.type === 'frame' && s.node === 'web' && s.direction === 'in' && s.bytes[12] === 8 && s.bytes[23] === 6);
    expect(atWeb && atWeb.type === 'frame' ? Array.from(atWeb.bytes.subarray(26, 30)).join('.') : '').toBe('192.168.4.86');
  });

  it('pod -> host-network pod (the node address) is delivered', () => {
    const r = ex(startRuntime(loadScenarioFile(SEED)), POD, '192.168.4.86:8123');
    expect(r.delivered).toBe(true);
    expect(r.response).toContain('clickhouse-1-1-0');
  });
});

describe('DNS from a pod through the dataplane', () => {
  it("dig clickhouse-service.clickhouse +search: the six node IPs; the StatefulSet pod's name: 192.168.4.86", () => {
    const out: string[] = [];
    digCommand(undefined, ['clickhouse-service.clickhouse', '+search', '+short'], { from: 'pod/k8s/backend-service-555d6684b5-9kwc7', set: [] }, (s) => void out.push(s));
    expect(out.join('').trim().split('\n').sort()).toEqual(['192.168.4.86', '192.168.4.87', '192.168.4.88', '192.168.4.89', '192.168.4.90', '192.168.4.91']);
    const one: string[] = [];
    digCommand(undefined, ['clickhouse-1-1-0.clickhouse-service.clickhouse', '+search', '+short'], { from: 'pod/k8s/backend-service-555d6684b5-9kwc7', set: [] }, (s) => void one.push(s));
    expect(one.join('')).toBe('192.168.4.86\n');
  });

  it('a pod reaches xxx.com by name: the whole search list (ndots:5), then the absolute name forwarded upstream', () => {
    const r = ex(seed(), POD, 'xxx.com:80');
    expect(r.delivered).toBe(true);
    expect(r.response).toMatch(/^HTTP\/1\.1 301 Moved Permanently/);
    expect(r.lookup).toMatchObject({ name: 'xxx.com', status: 'OK', answeredBy: 'xxx.com.', addresses: ['122.14.236.25'] });
    const asked = r.steps.flatMap((s) => (s.type === 'event' && s.event.kind === 'dns.server' && (s.event as unknown as { qtype: string }).qtype === 'A' ? [(s.event as unknown as { qname: string }).qname] : []));
    expect(asked.filter((n) => n.startsWith('xxx.com'))).toEqual(['xxx.com.k8s.svc.cluster.local', 'xxx.com.svc.cluster.local', 'xxx.com.cluster.local', 'xxx.com', 'xxx.com']);
  });

  it('every DNS and HTTP packet of a lookup-then-connect is in the pcapng, and tshark decodes it cleanly', async (ctx) => {
    if (missing({ tools: ['tshark'] })) ctx.skip();
    const r = ex(seed(), POD, 'xxx.com:80');
    const file = join(mkdtempSync(join(tmpdir(), 'kw-dns-')), 'dns.pcapng');
    writePcap(file, [r], 'test');
    const frames = tsharkFrames(file);
    expect(captureProblems(frames)).toEqual([]);
    const dns = frames.filter((f) => f.protocols.includes('dns'));
    expect(dns.length).toBeGreaterThanOrEqual(20); // 4 names x A+AAAA x query+answer, on several interfaces
    expect(frames.some((f) => f.protocols.includes('http'))).toBe(true);
  });

  it('the laptop reaches http://siji.example.com/ through the LB, a NodePort and ingress-nginx to the laosiji host process: 200', () => {
    const r = ex(seed(), 'host/laptop', 'http://siji.example.com/');
    expect(r.delivered).toBe(true);
    expect(r.response).toMatch(/^HTTP\/1\.1 200 OK \| Hostname: k8s-192-168-4-86/);
    const out = devicesOut(r);
    expect(out).toContain('lb/root/eth0');
    expect(out.some((d) => /\/nginx-ingress-controller-[a-z0-9]{5}\/eth0$/.test(d))).toBe(true);
  });
});

describe('ingress on the default scenario', () => {
  it('no rule for the host: 404 from the default backend', () => {
    const r = ex(seed(), 'host/laptop', 'http://192.168.4.100/');
    expect(r.delivered).toBe(true);
    expect(r.response).toMatch(/^HTTP\/1\.1 404 Not Found/);
  });

  it('the backend scaled to zero (no endpoints): 503', () => {
    const text = readFileSync(SEED, 'utf8').replace(/---\napiVersion: v1\nkind: Endpoints\nmetadata: \{name: laosiji, namespace: default\}\nsubsets:\n(  .*\n)+/, '');
    expect(text).not.toContain('kind: Endpoints');
    const r = ex(startRuntime(loadScenarioText('seed-no-endpoints.yaml', text)), 'host/laptop', 'http://siji.example.com/');
    expect(r.response).toMatch(/^HTTP\/1\.1 503 Service Temporarily Unavailable/);
  });

  it('the pcapng of the whole path has the HTTP request and response on every leg, cleanly decoded', async (ctx) => {
    if (missing({ tools: ['tshark'] })) ctx.skip();
    const r = ex(seed(), 'host/laptop', 'http://siji.example.com/');
    const file = join(mkdtempSync(join(tmpdir(), 'kw-ing-')), 'ingress.pcapng');
    writePcap(file, [r], 'test');
    const frames = tsharkFrames(file);
    expect(captureProblems(frames)).toEqual([]);
    expect(frames.some((f) => f.protocols.includes('http'))).toBe(true);
    // tshark reassembles one TCP stream across interfaces; check each leg's bytes directly.
    const recs = readCapture(new Uint8Array(readFileSync(file))).records;
    const has = (iface: RegExp, text: string) => recs.some((x) => iface.test(x.interfaceName ?? '') && Buffer.from(x.data).includes(text));
    for (const leg of [/^laptop\/root\/eth0$/, /^lb\/root\/eth0$/, /\/nginx-ingress-controller-[a-z0-9]{5}\/eth0$/, /^192\.168\.4\.86\/root\/eth0$/]) {
      expect(has(leg, 'GET / HTTP/1.1\r\n'), `request on ${leg}`).toBe(true);
      expect(has(leg, 'HTTP/1.1 200 OK\r\n'), `response on ${leg}`).toBe(true);
    }
  });
});

describe('the kubewire command', () => {
  const cli = (args: string[]): { code: number; out: string; err: string } => {
    try {
      const out = execFileSync('npx', ['tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { code: 0, out, err: '' };
    } catch (e) {
      const x = e as { status: number; stdout: string; stderr: string };
      return { code: x.status, out: x.stdout, err: x.stderr };
    }
  };
  it('exits 0 delivered, 1 not delivered, 2 bad input', () => {
    expect(cli(['trace', '--from', POD, '--to', '10.42.3.171:18888']).code).toBe(0);
    const nd = cli(['trace', FLANNEL, '--from', 'pod/default/client', '--to', '10.42.1.99', '--proto', 'icmp']);
    expect(nd.code).toBe(1);
    expect(nd.out).toMatch(/NOT delivered: ICMP type 3 code 1/);
    const bad = cli(['show', 'no-such-node', 'ip', 'route']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no-such-node/);
    const badSet = cli(['show', '--set', 'cni=weave', '192.168.4.88', 'ip', 'route']);
    expect(badSet.code).toBe(2);
    expect(badSet.err).toMatch(/seed\.yaml:\d+:\d+: error: "spec.cni" must be one of flannel, canal, not "weave"/);
  }, 120_000);
});
