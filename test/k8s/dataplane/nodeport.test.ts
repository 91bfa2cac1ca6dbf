// NodePort from an external host in both kube-proxy modes: externalTrafficPolicy Cluster is
// masqueraded (the pod sees a node address) and may hop to another node; Local keeps the
// client's address and only answers on a node with a local endpoint.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolvePlace } from '../../../src/scenario/endpoints.js';
import { loadScenarioText } from '../../../src/scenario/load.js';
import { startRuntime } from '../../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../../src/scenario/trace/exchange.js';

const BASE = readFileSync(new URL('../../../scenarios/two-node-flannel.yaml', import.meta.url), 'utf8');
const EXTRA = `---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: default, labels: {app: solo}}
spec:
  nodeName: node-b
  containers: [{name: c, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: solo-cluster, namespace: default}
spec:
  type: NodePort
  selector: {app: solo}
  ports: [{port: 80, targetPort: 8080, nodePort: 30100}]
---
apiVersion: v1
kind: Service
metadata: {name: solo-local, namespace: default}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: solo}
  ports: [{port: 80, targetPort: 8080, nodePort: 30200}]
`;

/** Source addresses of the TCP segments that reached the solo pod. */
function seenBySolo(r: ExchangeResult): Set<string> {
  const out = new Set<string>();
  for (const s of r.steps) {
    if (s.type !== 'frame' || s.netns !== 'solo' || s.direction !== 'in' || s.bytes[23] !== 6) continue;
    out.add(Array.from(s.bytes.subarray(26, 30)).join('.'));
  }
  return out;
}

for (const mode of ['iptables', 'ipvs'] as const) {
  describe(`NodePort from outside, kube-proxy ${mode} mode`, () => {
    const run = (to: string): ExchangeResult => {
      const rt = startRuntime(loadScenarioText('nodeport.yaml', BASE + EXTRA, [`kubeProxy.mode=${mode}`]));
      return runExchange(rt, resolvePlace(rt, 'host/web'), resolveTarget(rt, to), 'tcp');
    };

    it('eTP Cluster via the node without the endpoint: delivered, masqueraded, hopping to node-b', () => {
      const r = run('192.168.4.86:30100');
      expect(r.delivered).toBe(true);
      const src = seenBySolo(r);
      expect(src.size).toBeGreaterThan(0);
      expect([...src].every((a) => a === '10.42.0.0' || a === '192.168.4.86')).toBe(true);
    });

    it('eTP Local on the node with the endpoint: delivered, the client address kept', () => {
      const r = run('192.168.4.87:30200');
      expect(r.delivered).toBe(true);
      expect(seenBySolo(r)).toEqual(new Set(['203.0.113.10']));
    });

    if (mode === 'iptables') {
      it('eTP Local on a node without a local endpoint: dropped there, never reaches the pod', () => {
        const r = run('192.168.4.86:30200');
        expect(r.delivered).toBe(false);
        expect(seenBySolo(r).size).toBe(0);
      });
    } else {
      // Upstream's ipvs proxier falls back to every endpoint when a Local service has none on
      // the node (kubernetes#97081, so local pods still reach it), and KUBE-NODE-PORT-LOCAL
      // skips kube-proxy's masquerade; flanneld's FLANNEL-POSTRTG then masquerades the
      // outside client to flannel.1's address on the way to the other node, so it is answered.
      it('eTP Local on a node without a local endpoint: forwarded anyway, masqueraded by flanneld', () => {
        const r = run('192.168.4.86:30200');
        expect(r.delivered).toBe(true);
        expect(seenBySolo(r)).toEqual(new Set(['10.42.0.0']));
      });
    }
  });
}
