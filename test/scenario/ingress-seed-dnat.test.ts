// The default scenario (Canal, ipvs) with its LB switched to the source-preserving mode:
// `--set externalHosts[1].loadBalancer.mode=dnat`. The laptop's own connection reaches a
// node's NodePort 30080; the ingress Service is externalTrafficPolicy Cluster, so kube-proxy
// still masquerades it and ingress-nginx sees (and forwards as X-Forwarded-For) a node address.
import { describe, expect, it } from 'vitest';
import type { IngressTraceEvent } from '../../src/apps/ingress/trace.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange } from '../../src/scenario/trace/exchange.js';
import { syns, tcpSegments } from '../k8s/dataplane/frames.js';

const SEED = new URL('../../scenarios/seed.yaml', import.meta.url).pathname;

describe('seed with the LB in mode dnat', () => {
  for (const mode of ['ipvs', 'iptables'] as const) {
    it(`kube-proxy ${mode}: one connection from the laptop to a NodePort, 200 from laosiji, X-Forwarded-For a node address`, () => {
      const rt = startRuntime(loadScenarioFile(SEED, ['externalHosts[1].loadBalancer.mode=dnat', `kubeProxy.mode=${mode}`]));
      expect(rt.apps.loadBalancers.size).toBe(0);
      const plan = rt.dnatLoadBalancers.get('lb')!;
      expect(plan.listeners.map((l) => `${l.port}->${l.targets.length} nodes:${l.targets[0]!.port}`)).toEqual(['80->6 nodes:30080']);
      const r = runExchange(rt, resolvePlace(rt, 'host/laptop'), resolveTarget(rt, 'http://siji.example.com/'), 'tcp');
      expect(r.response).toMatch(/^HTTP\/1\.1 200 OK \| Hostname: k8s-192-168-4-86/);
      const segs = tcpSegments(r);
      const sent = syns(segs, 'root', 'out').filter((s) => s.node === 'laptop' && s.dport === 80);
      expect(sent).toHaveLength(1);
      // The laptop's SYN, its port kept, arrives at a node addressed to 30080; the LB sends no SYN of its own.
      const atNode = segs.filter((s) => s.node.startsWith('192.168.4.') && s.dev === 'eth0' && s.direction === 'in' && (s.flags & 0x12) === 0x02 && s.dport === 30080);
      expect(atNode.map((s) => `${s.src}:${s.sport}`)).toEqual(['192.168.4.200:' + sent[0]!.sport]);
      expect(segs.some((s) => s.node === 'lb' && s.direction === 'out' && s.src === '192.168.4.100' && (s.flags & 0x12) === 0x02)).toBe(false);
      const ev = r.steps.flatMap((s) => (s.type === 'event' && s.event.kind === 'ingress-nginx' ? [s.event as IngressTraceEvent] : []));
      expect(ev).toHaveLength(1);
      const peer = ev[0]!.decision.client.split(':')[0]!;
      expect(peer).not.toBe('192.168.4.200');
      const body = segs.filter((s) => s.node === '192.168.4.86' && s.netns === 'root' && s.direction === 'in' && s.dport === 6666).map((s) => Buffer.from(s.payload).toString('latin1')).join('');
      expect(body).toContain(`\r\nX-Forwarded-For: ${peer}\r\n`);
    });
  }
});
