// The pcapng of the default scenario's `trace --from host/laptop --to http://siji.example.com/`
// in the real tshark (`-d udp.port==8472,vxlan`, checksum checks on): nothing malformed in
// the whole capture, and on every interface that carried the request, tshark alone (one
// interface per file, so it never stitches two legs into one stream) decodes the HTTP
// request and its 200 response, inside VXLAN where flannel carried them. Both kube-proxy modes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePcap } from '../../src/cli/trace-cli.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../src/scenario/trace/exchange.js';
import { captureProblems, tsharkFrames, type TsharkFrame } from '../helpers/tshark.js';
import { missing } from '../helpers/tools.js';
import { tcpSegments } from '../k8s/dataplane/frames.js';

const SEED = new URL('../../scenarios/seed.yaml', import.meta.url).pathname;
const why = missing({ tools: ['tshark'] });

/** The frames of one interface only, as their own exchange (for a file of their own). */
function only(r: ExchangeResult, iface: string): ExchangeResult {
  return { ...r, steps: r.steps.filter((s) => s.type === 'event' || s.iface === iface) };
}

const values = (f: TsharkFrame, k: string): string[] => f.fields.get(k) ?? [];

for (const mode of ['ipvs', 'iptables'] as const) {
  describe.skipIf(why !== null)(`pcapng of laptop -> http://siji.example.com/, kube-proxy ${mode} mode`, () => {
    const rt = startRuntime(loadScenarioFile(SEED, [`kubeProxy.mode=${mode}`]));
    const r = runExchange(rt, resolvePlace(rt, 'host/laptop'), resolveTarget(rt, 'http://siji.example.com/'), 'tcp');
    const dir = mkdtempSync(join(tmpdir(), `kw-ingress-pcap-${mode}-`));
    const segs = tcpSegments(r);
    // Every interface that carried HTTP bytes, and the connections (4-tuples) it carried.
    const legs = new Map<string, Set<string>>();
    const encapsulated = new Map<string, Set<string>>();
    for (const s of segs) {
      if (s.payload.length === 0) continue;
      const iface = r.steps[s.index]!.type === 'frame' ? (r.steps[s.index] as { iface: string }).iface : '';
      const conn = [`${s.src}:${s.sport}`, `${s.dst}:${s.dport}`].sort().join(' ');
      legs.set(iface, (legs.get(iface) ?? new Set()).add(conn));
      if (s.vxlan) encapsulated.set(iface, (encapsulated.get(iface) ?? new Set()).add(conn));
    }

    it('reaches laosiji with 200 over the LB, a NodePort, VXLAN and the ingress pod', () => {
      expect(r.response).toMatch(/^HTTP\/1\.1 200 OK \| Hostname: k8s-192-168-4-86/);
      const names = [...legs.keys()];
      for (const want of [/^laptop\/root\/eth0$/, /^lb\/root\/eth0$/, /\/nginx-ingress-controller-[a-z0-9]{5}\/eth0$/, /^192\.168\.4\.86\/root\/eth0$/]) {
        expect(names.some((n) => want.test(n)), String(want)).toBe(true);
      }
      // The three TCP connections: laptop-LB, LB-NodePort (then DNATed to the ingress pod), ingress-laosiji.
      expect(legs.get('laptop/root/eth0')!.size).toBe(1);
      expect(legs.get('lb/root/eth0')!.size).toBe(2);
    });

    it('the whole capture decodes with no malformed frame, no expert error and every checksum Good', () => {
      const file = join(dir, 'all.pcapng');
      writePcap(file, [r], 'test');
      const frames = tsharkFrames(file);
      expect(frames.length).toBe(r.steps.filter((s) => s.type === 'frame').length);
      expect(captureProblems(frames)).toEqual([]);
    });

    it('each interface on its own: tshark finds the GET and its 200 for every connection it carried', () => {
      let vxlanLegs = 0;
      for (const [iface, conns] of legs) {
        const file = join(dir, `${iface.replace(/[^A-Za-z0-9.-]/g, '_')}.pcapng`);
        writePcap(file, [only(r, iface)], 'test');
        const frames = tsharkFrames(file);
        expect(captureProblems(frames), iface).toEqual([]);
        const requests = frames.filter((f) => values(f, 'http.request.method').includes('GET'));
        const responses = frames.filter((f) => values(f, 'http.response.code').includes('200'));
        expect(requests.length, `requests on ${iface}`).toBe(conns.size);
        expect(responses.length, `responses on ${iface}`).toBe(conns.size);
        for (const f of requests) {
          expect(values(f, 'http.request.uri'), iface).toEqual(['/']);
          expect(values(f, 'http.host'), iface).toEqual(['siji.example.com']);
        }
        // Each response answers its request in tshark's own pairing (http.request_in).
        for (const f of responses) expect(requests.map((q) => String(q.number))).toContain(values(f, 'http.request_in')[0]);
        // The connections flannel carried here are decoded inside VXLAN, the others plain.
        const inVxlan = (f: TsharkFrame): boolean => f.protocols.slice(0, 6).join(':') === 'eth:ethertype:ip:udp:vxlan:eth';
        const vx = encapsulated.get(iface)?.size ?? 0;
        expect(requests.filter(inVxlan).length, `requests in VXLAN on ${iface}`).toBe(vx);
        expect(responses.filter(inVxlan).length, `responses in VXLAN on ${iface}`).toBe(vx);
        if (vx > 0) vxlanLegs++;
      }
      // flannel carried it between the NodePort's node and the ingress pod's (on both nodes' eth0).
      expect(vxlanLegs).toBeGreaterThanOrEqual(2);
    });
  });
}
