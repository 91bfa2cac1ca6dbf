// scenarios/lb-dnat.yaml: the external load balancer in its source-preserving mode. The LB
// DNATs the client's own connection to a node's NodePort (no second connection), nodes send
// the replies back through it, and externalTrafficPolicy decides what the pod sees: Cluster
// masquerades (and hops to the pod's node), Local keeps the client's address and the LB
// only targets the node with the endpoint. Both kube-proxy modes. (The same NodePort reached
// directly from an external host, without any LB, is nodeport.test.ts.)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { show } from '../../../src/cli/show.js';
import { resolvePlace } from '../../../src/scenario/endpoints.js';
import { ScenarioError } from '../../../src/scenario/error.js';
import { loadScenarioText } from '../../../src/scenario/load.js';
import { startRuntime, type Runtime } from '../../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../../src/scenario/trace/exchange.js';
import type { TraceEventBase } from '../../../src/sim/trace.js';
import { missing } from '../../helpers/tools.js';
import { streamText, syns, tcpSegments, type TcpSegment } from './frames.js';

const TEXT = readFileSync(new URL('../../../scenarios/lb-dnat.yaml', import.meta.url), 'utf8');
const CLIENT = '192.168.20.200';
const LB = '192.168.20.100';
const NODES: Record<string, string> = { 'node-a': '192.168.20.11', 'node-b': '192.168.20.12', 'node-c': '192.168.20.13' };

function scenario(etp: 'Cluster' | 'Local', sets: string[], replicas = 1): Runtime {
  let text = TEXT.replace(/^ {2}externalTrafficPolicy: Cluster$/m, `  externalTrafficPolicy: ${etp}`);
  text = text.replace(/^ {2}replicas: 1$/m, `  replicas: ${replicas}`);
  return startRuntime(loadScenarioText('lb-dnat.yaml', text, sets));
}

function connect(rt: Runtime): ExchangeResult {
  return runExchange(rt, resolvePlace(rt, 'host/client'), resolveTarget(rt, `${LB}:80`), 'tcp');
}

function events(r: ExchangeResult): (TraceEventBase & Record<string, unknown>)[] {
  return r.steps.flatMap((s) => (s.type === 'event' ? [s.event as TraceEventBase & Record<string, unknown>] : []));
}

/** The node the LB's nat rule sent the connection to (its DNAT binding applied on the SYN). */
function lbChoice(r: ExchangeResult): string {
  const d = events(r).filter((e) => e.node === 'lb' && e.kind === 'nf.nat' && e.manip === 'DNAT' && e.how === 'apply' && e.from === `${LB}:80`);
  expect(d.length).toBeGreaterThan(0);
  const to = new Set(d.map((e) => String(e.to)));
  expect(to.size).toBe(1);
  const [addr, port] = [...to][0]!.split(':');
  expect(port).toBe('30100');
  return Object.entries(NODES).find(([, ip]) => ip === addr)![0];
}

/** The web pod's namespace and what it saw: the SYNs arriving on its eth0. */
function atPod(rt: Runtime, segs: readonly TcpSegment[]): TcpSegment[] {
  const pods = [...rt.world.pods.values()].filter((p) => p.pod.metadata.labels?.app === 'web');
  return pods.flatMap((p) => syns(segs, p.netns.netns, 'in'));
}

for (const mode of ['ipvs', 'iptables'] as const) {
  describe(`LB in dnat mode, kube-proxy ${mode} mode`, () => {
    describe('externalTrafficPolicy Cluster', () => {
      const rt = scenario('Cluster', [`kubeProxy.mode=${mode}`]);
      const runs = [connect(rt), connect(rt), connect(rt)];

      it('every node is a target: three connections go round robin to node-a, node-b, node-c', () => {
        expect(runs.every((r) => r.delivered)).toBe(true);
        expect(runs.map(lbChoice)).toEqual(['node-a', 'node-b', 'node-c']);
        const plan = rt.dnatLoadBalancers.get('lb')!;
        expect(plan.listeners[0]!.healthChecks.every((h) => h.healthy)).toBe(true);
      });

      it("one TCP connection: the client's own SYN reaches the node, only its destination rewritten", () => {
        for (const r of runs) {
          const segs = tcpSegments(r);
          const sent = syns(segs, 'root', 'out').filter((s) => s.node === 'client');
          expect(sent.map((s) => `${s.src}:${s.sport}>${s.dst}:${s.dport}`)).toEqual([`${CLIENT}:${sent[0]!.sport}>${LB}:80`]);
          const node = lbChoice(r);
          const arrived = syns(segs, 'root', 'in').filter((s) => s.node === node && s.dev === 'eth0' && !s.vxlan);
          expect(arrived.map((s) => `${s.src}:${s.sport}>${s.dst}:${s.dport}`)).toEqual([`${CLIENT}:${sent[0]!.sport}>${NODES[node]}:30100`]);
          // The LB itself opens nothing.
          expect(segs.some((s) => s.node === 'lb' && s.direction === 'out' && s.src === LB && (s.flags & 0x12) === 0x02)).toBe(false);
          // The node's answer goes back through the LB (its return route), which un-DNATs it.
          expect(segs.some((s) => s.node === 'lb' && s.direction === 'in' && s.src === NODES[node] && s.sport === 30100 && s.dst === CLIENT)).toBe(true);
          const back = streamText(segs, (s) => s.node === 'client' && s.direction === 'in' && s.src === LB && s.sport === 80);
          expect(back.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
        }
      });

      it('the pod never sees the client: masqueraded by kube-proxy, and over VXLAN from node-a and node-b', () => {
        for (const r of runs) {
          const node = lbChoice(r);
          const seen = atPod(rt, tcpSegments(r));
          expect(seen).toHaveLength(1);
          expect(seen[0]!.src).not.toBe(CLIENT);
          // The masquerade address is the forwarding node's: flannel.1's 10.42.X.0 for a hop, cni0's on node-c.
          expect(seen[0]!.src).toMatch(node === 'node-c' ? /^10\.42\.\d+\.1$/ : /^10\.42\.\d+\.0$/);
          const hopped = tcpSegments(r).some((s) => s.vxlan && s.node === node && s.direction === 'out');
          expect(hopped).toBe(node !== 'node-c');
          expect(r.response).toMatch(/^HTTP\/1\.1 200 OK \| Hostname: web-/);
        }
      });
    });

    describe('externalTrafficPolicy Local', () => {
      const rt = scenario('Local', [`kubeProxy.mode=${mode}`]);
      const runs = [connect(rt), connect(rt), connect(rt)];

      it("only node-c passes the health check (healthCheckNodePort), so every connection lands there", () => {
        const plan = rt.dnatLoadBalancers.get('lb')!;
        const hc = rt.state.services.find((s) => s.metadata.name === 'web')!.spec.healthCheckNodePort;
        expect(hc).toBeGreaterThanOrEqual(30000);
        expect(plan.listeners[0]!.healthChecks).toEqual([
          { node: 'node-a', healthy: false, why: `:${hc}/healthz answers 503 (no local endpoint)` },
          { node: 'node-b', healthy: false, why: `:${hc}/healthz answers 503 (no local endpoint)` },
          { node: 'node-c', healthy: true, why: `:${hc}/healthz answers 200 (local endpoints)` },
        ]);
        expect(runs.map(lbChoice)).toEqual(['node-c', 'node-c', 'node-c']);
      });

      it("the pod sees the client's own address and port: one connection end to end", () => {
        for (const r of runs) {
          expect(r.delivered).toBe(true);
          const segs = tcpSegments(r);
          const sent = syns(segs, 'root', 'out').filter((s) => s.node === 'client');
          expect(sent).toHaveLength(1);
          const seen = atPod(rt, segs);
          expect(seen.map((s) => `${s.src}:${s.sport}`)).toEqual([`${CLIENT}:${sent[0]!.sport}`]);
          expect(segs.some((s) => s.vxlan)).toBe(false);
          // No masquerade for it anywhere.
          const snat = events(r).filter((e) => e.kind === 'nf.nat' && e.manip === 'SNAT' && e.how === 'apply' && String(e.from).startsWith(`${CLIENT}:`));
          expect(snat).toEqual([]);
        }
      });
    });

    it('proxy mode instead (--set ...loadBalancer.mode=proxy): a second connection from the LB, the client gone', () => {
      const rt = scenario('Cluster', [`kubeProxy.mode=${mode}`, 'externalHosts[1].loadBalancer.mode=proxy']);
      expect(rt.dnatLoadBalancers.size).toBe(0);
      const r = connect(rt);
      expect(r.delivered).toBe(true);
      const segs = tcpSegments(r);
      expect(events(r).some((e) => e.node === 'lb' && e.kind === 'nf.nat')).toBe(false);
      expect(syns(segs, 'root', 'out').some((s) => s.node === 'lb' && s.src === LB && s.dport === 30100)).toBe(true);
      expect(atPod(rt, segs).map((s) => s.src)).not.toContain(CLIENT);
    });
  });
}

describe('LB in dnat mode, a client beyond the underlay gateway', () => {
  it('eTP Local: the pod sees the outside address; the reply goes node -> LB -> gateway', () => {
    const text = TEXT.replace('{name: client, ip: 192.168.20.200}', '{name: client, ip: 198.51.100.7}').replace(/^ {2}externalTrafficPolicy: Cluster$/m, '  externalTrafficPolicy: Local');
    const rt = startRuntime(loadScenarioText('lb-dnat.yaml', text));
    const r = connect(rt);
    expect(r.delivered).toBe(true);
    const segs = tcpSegments(r);
    expect(atPod(rt, segs).map((s) => s.src)).toEqual(['198.51.100.7']);
    // The SYN came in through the gateway, and the SYN-ACK leaves through it again, un-DNATed by the LB.
    const synAck = (s: TcpSegment): boolean => (s.flags & 0x12) === 0x12;
    expect(segs.filter((s) => s.node === 'lb' && s.direction === 'in' && synAck(s)).map((s) => `${s.src}:${s.sport}`)).toEqual([`${NODES['node-c']}:30100`]);
    expect(segs.filter((s) => s.node === 'lb' && s.direction === 'out' && synAck(s)).map((s) => `${s.src}:${s.sport}>${s.dst}`)).toEqual([`${LB}:80>198.51.100.7`]);
    expect(segs.some((s) => s.node === 'gateway' && s.direction === 'out' && synAck(s) && s.src === LB)).toBe(true);
  });
});

describe('LB in dnat mode, no healthy node', () => {
  it('eTP Local with no endpoint: the chain is empty, the LB itself refuses', () => {
    const rt = scenario('Local', [], 0);
    expect(rt.dnatLoadBalancers.get('lb')!.listeners[0]!.targets).toEqual([]);
    const r = connect(rt);
    expect(r.delivered).toBe(false);
    expect(r.reason).toMatch(/Failed to connect to 192\.168\.20\.100 port 80 .*Couldn't connect to server/);
    // The LB's own stack resets the SYN: nothing listens on its port 80 in this mode.
    const rst = tcpSegments(r).filter((s) => s.node === 'client' && s.direction === 'in' && s.src === LB && s.sport === 80);
    expect(rst.map((s) => s.flags & 0x14)).toEqual([0x14]);
  });
});

describe('LB in dnat mode, programmed as the tools would', () => {
  it("the LB host's nat table and the nodes' return routes, in the action log", async () => {
    const rt = scenario('Cluster', []);
    await expect(show(rt, 'host/lb', ['iptables-save'])).toMatchFileSnapshot('../../golden/iptables-save/lb-dnat-lb.txt');
    expect(show(rt, 'host/lb', ['sysctl', 'net.ipv4.ip_forward'])).toBe('net.ipv4.ip_forward = 1\n');
    for (const n of Object.keys(NODES)) {
      expect(show(rt, n, ['ip', 'route']).split('\n')).toContain(`${CLIENT} via ${LB} dev eth0 `);
      expect(rt.world.log.actions.some((a) => a.node === n && a.agent === 'lb/lb' && a.argv.join(' ') === `ip route add ${CLIENT}/32 via ${LB} dev eth0`)).toBe(true);
    }
    const restore = rt.world.log.actions.filter((a) => a.node === 'lb' && a.argv[0] === 'iptables-restore');
    expect(restore).toHaveLength(1);
  });

  it("the Service's status names the LB's address (ipMode Proxy): kube-proxy does not claim it on the nodes", () => {
    for (const mode of ['ipvs', 'iptables']) {
      const rt = scenario('Cluster', [`kubeProxy.mode=${mode}`]);
      const svc = rt.state.services.find((s) => s.metadata.name === 'web')!;
      expect(svc.status?.loadBalancer?.ingress).toEqual([{ ip: LB, ipMode: 'Proxy' }]);
      for (const n of Object.keys(NODES)) {
        expect(show(rt, n, ['ip', 'addr'])).not.toContain(LB);
        if (mode === 'iptables') expect(show(rt, n, ['iptables-save', '-t', 'nat'])).not.toContain(LB);
      }
      // ... which is what lets the nodes still answer through it.
      expect(connect(rt).delivered).toBe(true);
    }
  });

  it('a second dnat load balancer is refused at its mode field', () => {
    const text = TEXT.replace(/^ {2}traffic:$/m, '    - {name: lb2, ip: 192.168.20.101, loadBalancer: {service: default/web, mode: dnat}}\n  traffic:');
    let msg = '';
    try {
      loadScenarioText('lb-dnat.yaml', text);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      msg = e.message;
    }
    const line = text.split('\n').findIndex((l) => l.includes('lb2')) + 1;
    expect(msg).toMatch(new RegExp(`^lb-dnat\\.yaml:${line}:\\d+: .*only one load balancer can use mode dnat.*"lb" at \\d+:\\d+ does`, 'm'));
  });
});

const why = missing({ tools: ['ip', 'iptables-restore', 'iptables-save'], root: true });
describe.skipIf(why !== null)('LB in dnat mode against the real iptables', () => {
  const name = `kwt-lbdnat-${process.pid}`;
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // never created
    }
  });
  it("the real iptables-restore accepts the LB's payload and iptables-save prints the nat table as the model does", () => {
    const rt = scenario('Cluster', []);
    const payload = rt.world.log.actions.find((a) => a.node === 'lb' && a.argv[0] === 'iptables-restore')!.input!;
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['netns', 'exec', name, 'iptables-restore', '--noflush'], { input: payload });
    const real = execFileSync('ip', ['netns', 'exec', name, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
    const body = (t: string): string[] => t.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(body(show(rt, 'host/lb', ['iptables-save', '-t', 'nat']))).toEqual(body(real));
  });
});
