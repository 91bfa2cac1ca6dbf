import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IP_VS_CONN_F_MASQ } from '../../src/ipvs/index.js';
import { MhScheduler } from '../../src/ipvs/sched/mh.js';
import { ShScheduler } from '../../src/ipvs/sched/sh.js';
import { gcd } from '../../src/ipvs/sched/scheduler.js';
import { ip, model, svcSpec, syn } from './helpers.js';

const weights = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 });

function table(sched: string, ws: number[]) {
  const { ipvs } = model();
  const svc = ipvs.addService(svcSpec({ scheduler: 'rr' }));
  ws.forEach((w, i) => ipvs.addDest(svc, { addr: (ip('10.42.0.1') + i) as never, port: 80, fwd: IP_VS_CONN_F_MASQ, weight: w }));
  // Bind the scheduler with every server present (ip_vs_*_init_svc over the full list).
  ipvs.editService(svcSpec({ scheduler: sched }));
  return { ipvs, svc };
}

describe('scheduler properties over random weights', () => {
  it('wrr: one cycle of sum(w)/gcd choices gives each server weight/gcd of them', () => {
    fc.assert(fc.property(weights, (ws) => {
      const { ipvs, svc } = table('wrr', ws);
      const g = ws.reduce((a, b) => gcd(a, b));
      const cycle = ws.reduce((a, b) => a + b, 0) / g;
      const counts = new Map<number, number>();
      for (let i = 0; i < cycle; i++) {
        const d = ipvs.inPacket(syn(ip('10.0.0.1'), 1024 + i, svc.addr, 80), 'LOCAL_IN');
        if (d.kind !== 'xmit') return false;
        counts.set(d.conn.daddr, (counts.get(d.conn.daddr) ?? 0) + 1);
      }
      return svc.dests.every((d) => counts.get(d.addr) === d.weight / g);
    }), { numRuns: 200 });
  });

  it('rr: n choices visit each of n servers once, in list order', () => {
    fc.assert(fc.property(weights, (ws) => {
      const { ipvs, svc } = table('rr', ws);
      const seen = ws.map((_, i) => {
        const d = ipvs.inPacket(syn(ip('10.0.0.2'), 2000 + i, svc.addr, 80), 'LOCAL_IN');
        return d.kind === 'xmit' ? d.conn.daddr : -1;
      });
      expect(seen).toEqual(svc.dests.map((d) => d.addr));
    }), { numRuns: 100 });
  });

  it('sh: the 256 buckets repeat the list in runs of each weight', () => {
    fc.assert(fc.property(weights, (ws) => {
      const { svc } = table('sh', ws);
      const pattern = svc.dests.flatMap((d) => Array<number>(d.weight).fill(d.addr));
      const b = (svc.scheduler as ShScheduler).buckets.map((d) => d!.addr);
      expect(b).toEqual(Array.from({ length: 256 }, (_, i) => pattern[i % pattern.length]));
    }), { numRuns: 100 });
  });

  it('mh: every slot filled; shares follow weight/gcd within the table size', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), (ws) => {
      const { svc } = table('mh', ws);
      const s = svc.scheduler as MhScheduler;
      const counts = new Map<number, number>();
      for (const d of s.lookup) counts.set(d!.addr, (counts.get(d!.addr) ?? 0) + 1);
      const g = ws.reduce((a, b) => gcd(a, b));
      const total = ws.reduce((a, b) => a + b / g, 0);
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(s.size);
      // Maglev's turns fill round by round: a server's share is within one round of its weight's.
      for (const d of svc.dests) expect(Math.abs(counts.get(d.addr)! - (s.size * d.weight) / g / total)).toBeLessThanOrEqual(total);
    }), { numRuns: 40 });
  });

  it('lc, wlc, sed, nq never pick a weight-0 or overloaded server', () => {
    fc.assert(fc.property(fc.constantFrom('lc', 'wlc', 'sed', 'nq'), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 5 }), (sched, ws) => {
      const { ipvs, svc } = table(sched, ws);
      for (let i = 0; i < 12; i++) {
        const d = ipvs.inPacket(syn(ip('10.0.0.3'), 3000 + i, svc.addr, 80), 'LOCAL_IN');
        if (ws.every((w) => w === 0)) expect(d.kind).toBe('drop');
        else if (d.kind === 'xmit') expect(d.conn.dest!.weight).toBeGreaterThan(0);
        else throw new Error(`${sched} ${ws}: ${d.kind}`);
      }
    }), { numRuns: 100 });
  });
});
