// An exchange that times out stops its client, as the client process exiting closes its
// socket: a later exchange on the same cluster sees none of its retransmitted SYNs.
import { describe, expect, it } from 'vitest';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../src/scenario/trace/exchange.js';

const SEED = new URL('../../scenarios/seed.yaml', import.meta.url).pathname;

/** Source ports of the TCP SYNs (no ACK) in the exchange's frames. */
function synPorts(r: ExchangeResult): Set<number> {
  const out = new Set<number>();
  for (const s of r.steps) {
    if (s.type !== 'frame' || s.bytes[12] !== 0x08 || s.bytes[23] !== 6) continue;
    const t = 14 + (s.bytes[14]! & 15) * 4;
    if ((s.bytes[t + 13]! & 0x12) === 0x02) out.add((s.bytes[t]! << 8) | s.bytes[t + 1]!);
  }
  return out;
}

describe('a timed-out exchange stops its client', () => {
  it('its SYN retransmissions do not run on into the next exchange', () => {
    const rt = startRuntime(loadScenarioFile(SEED, []));
    const from = resolvePlace(rt, 'pod/k8s/k8s-xxx-648c86cd45-qbhj9');
    // An unused pod IP of a Canal node: it leaves by the default route and the gateway drops
    // it without a word (it has no route back to pod addresses).
    const a = runExchange(rt, from, resolveTarget(rt, '10.42.3.99:80'), 'tcp', { timeout: 6.5e9 });
    expect(a.delivered).toBe(false);
    expect(a.reason).toBe('timed out');
    const first = synPorts(a);
    expect(first.size).toBe(1); // the SYN and its retransmissions at 1 and 3 s; the next is due at 7 s, inside the next exchange
    const b = runExchange(rt, from, resolveTarget(rt, '10.42.3.171:18888'), 'tcp');
    expect(b.delivered).toBe(true);
    for (const p of first) expect(synPorts(b).has(p), `SYN from port ${p} in the next exchange`).toBe(false);
  });
});
