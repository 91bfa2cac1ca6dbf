// kube-proxy iptables mode through the cluster dataplane: a Service with no endpoints is
// rejected with ICMP port unreachable (KUBE-SERVICES REJECT in filter), and ClientIP affinity
// sends every connection of one client to the same endpoint (xt_recent).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolvePlace } from '../../../src/scenario/endpoints.js';
import { loadScenarioText } from '../../../src/scenario/load.js';
import { startRuntime, type Runtime } from '../../../src/scenario/runtime.js';
import { resolveTarget, runExchange } from '../../../src/scenario/trace/exchange.js';
import { traceJson } from '../../../src/scenario/trace/json.js';

const BASE = readFileSync(new URL('../../../scenarios/two-node-flannel.yaml', import.meta.url), 'utf8');
const EXTRA = `---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: default}
spec:
  selector: {app: nothing-here}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: default}
spec:
  selector: {app: echo}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: walled, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: echo}
  loadBalancerSourceRanges: [203.0.113.0/24]
  ports: [{port: 80, targetPort: http, nodePort: 30300}]
status:
  loadBalancer:
    ingress: [{ip: 192.168.4.150}]
`;

function rt(): Runtime {
  return startRuntime(loadScenarioText('paths.yaml', BASE + EXTRA, ['kubeProxy.mode=iptables']));
}

describe('kube-proxy iptables mode paths through the cluster', () => {
  it('a Service without endpoints: REJECT, the client gets ICMP port unreachable (ECONNREFUSED)', () => {
    const w = rt();
    const r = runExchange(w, resolvePlace(w, 'pod/default/client'), resolveTarget(w, 'svc/default/empty:80'), 'tcp');
    expect(r.delivered).toBe(false);
    expect(r.reason).toMatch(/Couldn't connect|ECONNREFUSED/);
    const rejected = r.steps.some((s) => s.type === 'event' && s.event.kind === 'nf.rule' && (s.event as unknown as { matched: boolean; rule: string }).matched && /has no endpoints.*-j REJECT/.test((s.event as unknown as { rule: string }).rule));
    expect(rejected).toBe(true);
    const icmp = r.steps.some((s) => s.type === 'frame' && s.netns === 'client' && s.direction === 'in' && s.bytes[23] === 1 && s.bytes[34] === 3 && s.bytes[35] === 3);
    expect(icmp).toBe(true);
  });

  it('a LoadBalancer IP from a source outside loadBalancerSourceRanges is dropped by KUBE-PROXY-FIREWALL', () => {
    const w = rt();
    const r = runExchange(w, resolvePlace(w, 'pod/default/client'), resolveTarget(w, '192.168.4.150:80'), 'tcp', { timeout: 5e9 });
    expect(r.delivered).toBe(false);
    const dropped = r.steps.some((s) => s.type === 'event' && s.event.kind === 'nf.rule' && (s.event as unknown as { matched: boolean; rule: string }).matched && /^-A KUBE-PROXY-FIREWALL .*-d 192\.168\.4\.150\/32 .*-j DROP$/.test((s.event as unknown as { rule: string }).rule));
    expect(dropped).toBe(true);
  });

  it('a node reaches a NodePort on its own address', () => {
    const w = rt();
    const r = runExchange(w, resolvePlace(w, 'node/node-a'), resolveTarget(w, '192.168.4.86:30300'), 'tcp');
    expect(r.delivered).toBe(true);
    expect(r.response).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('ClientIP affinity: twelve connections from one client, one endpoint (without it: both)', () => {
    const w = rt();
    const from = resolvePlace(w, 'pod/default/client');
    const backendsOf = (svc: string): Set<string | null> => {
      const seen = new Set<string | null>();
      for (let i = 0; i < 12; i++) {
        const r = runExchange(w, from, resolveTarget(w, svc), 'tcp');
        expect(r.delivered).toBe(true);
        seen.add(traceJson(r).backend as string | null);
      }
      return seen;
    };
    const sticky = backendsOf('svc/default/sticky:80');
    expect(sticky.size).toBe(1);
    expect([...sticky][0]).toMatch(/^10\.42\.[01]\.\d+:8080$/);
    expect(backendsOf('svc/default/echo:80').size).toBe(2);
  });
});
