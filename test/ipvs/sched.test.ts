import { describe, expect, it } from 'vitest';
import {
  IP_VS_SVC_F_SCHED_MH_FALLBACK, IP_VS_SVC_F_SCHED_MH_PORT, IP_VS_SVC_F_SCHED_SH_FALLBACK, IP_VS_SVC_F_SCHED_SH_PORT,
  type Ipvs, type IpvsPacketInfo, type ServiceSpec,
} from '../../src/ipvs/index.js';
import { MhScheduler } from '../../src/ipvs/sched/mh.js';
import { shHashKey, ShScheduler } from '../../src/ipvs/sched/sh.js';
import { formatIpv4 } from '../../src/wire/ipv4-address.js';
import { addDests, ip, model, svcSpec, syn, type DestDef } from './helpers.js';

/**
 * Choice sequences per scheduler, derived from the kernel source (net/netfilter/ipvs/ip_vs_*.c)
 * and run through the whole ip_vs_in path (each SYN creates an entry, which counts as active
 * in SYN_RECV, as tcp_state_active_table says). Every case is printed into one golden file
 * per scheduler; hand-derived sequences are also asserted inline.
 */
interface Case {
  readonly title: string;
  readonly svc?: Partial<ServiceSpec>;
  /** Servers in the order they are added (each goes to the head of the kernel's list). */
  readonly dests: readonly DestDef[];
  /** Packets: `n` SYNs from 10.0.0.1 with rising ports, or explicit packets. */
  readonly n?: number;
  readonly packets?: readonly IpvsPacketInfo[];
  /** Applied after `at` packets. */
  readonly change?: { at: number; run: (ipvs: Ipvs, names: Map<number, string>) => string };
}

function run(c: Case): { seq: string[]; text: string } {
  const { ipvs } = model();
  const spec = svcSpec(c.svc);
  const svc = ipvs.addService(spec);
  const names = addDests(ipvs, svc, c.dests);
  const listOrder = svc.dests.map((d) => names.get(d.addr)).join(' ');
  const packets = c.packets ?? Array.from({ length: c.n ?? 9 }, (_, i) => syn(ip('10.0.0.1'), 40000 + i, spec.addr, spec.port));
  const seq: string[] = [];
  const lines: string[] = [];
  const notes: string[] = [];
  packets.forEach((p, i) => {
    if (c.change && c.change.at === i) notes.push(`  after ${i}: ${c.change.run(ipvs, names)}`);
    const d = ipvs.inPacket(p, 'LOCAL_IN');
    const who = d.kind === 'xmit' ? names.get(d.conn.daddr) ?? '?' : '-';
    seq.push(who);
    lines.push(`  ${formatIpv4(p.saddr)}:${p.sport} -> ${formatIpv4(p.daddr)}:${p.dport} => ${who}`);
  });
  const defs = c.dests.map((d) => `${d.name}=${d.addr} w${d.weight ?? 1}${d.active ? ` active ${d.active}` : ''}${d.inactive ? ` inactive ${d.inactive}` : ''}`).join(', ');
  const text = [
    `## ${c.title}`,
    `servers (added in this order): ${defs}`,
    `kernel list order: ${listOrder}`,
    ...notes,
    `sequence: ${seq.join(' ')}`,
    ...(c.packets ? lines : []),
    '',
  ].join('\n');
  return { seq, text };
}

const ABC: DestDef[] = [
  { name: 'A', addr: '10.42.0.1' },
  { name: 'B', addr: '10.42.0.2' },
  { name: 'C', addr: '10.42.0.3' },
];

/** Servers added in reverse so the list order reads A B C. */
function listed(...d: DestDef[]): DestDef[] {
  return d.slice().reverse();
}

type Seqs = [string[], string[], string[], string[], string[], string[]];

async function golden(name: string, cases: readonly Case[]): Promise<Seqs> {
  const results = cases.map(run);
  await expect(`# ${name}: choice sequences derived from net/netfilter/ipvs/ip_vs_${name}.c\n\n${results.map((r) => r.text).join('\n')}`)
    .toMatchFileSnapshot(`../golden/ipvs-sched/${name}.txt`);
  return results.map((r) => r.seq) as Seqs;
}

describe('ipvs schedulers (choice sequences as the kernel makes them)', () => {
  it('rr walks the list from the head; new servers are inserted at the head', async () => {
    const [three, quiesced, added, deleted] = await golden('rr', [
      { title: 'three servers added A, B, C (list is C B A)', dests: ABC, n: 7 },
      { title: 'weight 0 (quiescent) server is skipped', dests: listed({ ...ABC[0]!, weight: 1 }, { ...ABC[1]!, weight: 0 }, ABC[2]!), n: 6 },
      {
        title: 'a server added after 2 choices goes to the head; the cursor stays on its server',
        dests: listed(ABC[0]!, ABC[1]!), n: 7,
        change: { at: 2, run: (ipvs, names) => { names.set(ip('10.42.0.3'), 'C'); addDests(ipvs, ipvs.services()[0]!, [ABC[2]!]); return 'added C (list C A B)'; } },
      },
      {
        title: 'deleting the cursor server moves the cursor to its predecessor',
        dests: listed(...ABC), n: 6,
        change: { at: 2, run: (ipvs) => { ipvs.delDest(ipvs.services()[0]!, ip('10.42.0.2'), 80); return 'deleted B (the cursor)'; } },
      },
    ]);
    expect(three).toEqual(['C', 'B', 'A', 'C', 'B', 'A', 'C']);
    expect(quiesced).toEqual(['A', 'C', 'A', 'C', 'A', 'C']);
    expect(added).toEqual(['A', 'B', 'C', 'A', 'B', 'C', 'A']);
    expect(deleted).toEqual(['A', 'B', 'C', 'A', 'C', 'A']);
  });

  it('wrr steps cw down from the max weight by the gcd', async () => {
    const [w432, rebound, w22, w51, changed] = await golden('wrr', [
      { title: 'weights 4, 3, 2', svc: { scheduler: 'wrr' }, dests: listed({ ...ABC[0]!, weight: 4 }, { ...ABC[1]!, weight: 3 }, { ...ABC[2]!, weight: 2 }), n: 18 },
      {
        title: 'weights 4, 3, 2 with wrr bound after the servers exist (ipvsadm -E -s wrr): ip_vs_wrr_init_svc starts at cw = mw',
        svc: { scheduler: 'rr' }, dests: listed({ ...ABC[0]!, weight: 4 }, { ...ABC[1]!, weight: 3 }, { ...ABC[2]!, weight: 2 }), n: 9,
        change: { at: 0, run: (ipvs) => { ipvs.editService(svcSpec({ scheduler: 'wrr' })); return 'scheduler changed to wrr'; } },
      },
      { title: 'weights 2, 2 (gcd 2)', svc: { scheduler: 'wrr' }, dests: listed({ ...ABC[0]!, weight: 2 }, { ...ABC[1]!, weight: 2 }), n: 6 },
      { title: 'weights 5, 1', svc: { scheduler: 'wrr' }, dests: listed({ ...ABC[0]!, weight: 5 }, { ...ABC[1]!, weight: 1 }), n: 12 },
      {
        title: 'a weight change resets the cursor to the head and clamps cw',
        svc: { scheduler: 'wrr' }, dests: listed({ ...ABC[0]!, weight: 4 }, { ...ABC[1]!, weight: 3 }, { ...ABC[2]!, weight: 2 }), n: 9,
        change: { at: 4, run: (ipvs) => { ipvs.editDest(ipvs.services()[0]!, { addr: ip('10.42.0.3'), port: 80, fwd: 0, weight: 4 }); return 'C weight 4'; } },
      },
    ]);
    // ipvsadm creates the service first: adding C (w2) alone sets mw = 2 - (2 - 1) = 1 and cw = 1,
    // later adds keep cw (ip_vs_wrr_dest_changed), so the first round is the cw = 1 pass.
    expect(w432.slice(0, 3).join(' ')).toBe('A B C');
    expect(w432.slice(3, 12).join(' ')).toBe('A A B A B C A B C');
    expect(w432.slice(12, 18).join(' ')).toBe('A A B A B C');
    expect(rebound.join(' ')).toBe('A A B A B C A B C');
    expect(w22).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
    expect(w51.join('')).toBe('ABAAAAABAAAA');
    // After A B C A the cursor is on A with cw = 4; the change keeps cw 4 and restarts at the head.
    expect(changed.join('')).toBe('ABCAACABC');
  });

  it('lc picks the least activeconns*256 + inactconns, ties to the first listed', async () => {
    const [fresh, loaded] = await golden('lc', [
      { title: 'idle servers: ties go to the first in list order', svc: { scheduler: 'lc' }, dests: listed(...ABC), n: 6 },
      {
        title: 'existing load: A active 1 (256), B inactive 300 (300), C active 0 inactive 10 (10)',
        svc: { scheduler: 'lc' }, dests: listed({ ...ABC[0]!, active: 1 }, { ...ABC[1]!, inactive: 300 }, { ...ABC[2]!, inactive: 10 }), n: 5,
      },
    ]);
    expect(fresh).toEqual(['A', 'B', 'C', 'A', 'B', 'C']);
    // C 10 -> C 266; then A 256 -> A 512; then C 266 -> ... B 300 -> ...
    expect(loaded).toEqual(['C', 'A', 'C', 'B', 'A']);
  });

  it('wlc and sed compare overhead/weight by cross-multiplying', async () => {
    const [wlc] = await golden('wlc', [
      { title: 'weights 3, 1, idle', svc: { scheduler: 'wlc' }, dests: listed({ ...ABC[0]!, weight: 3 }, { ...ABC[1]!, weight: 1 }), n: 8 },
      { title: 'a weight-0 server later in the list never wins', svc: { scheduler: 'wlc' }, dests: listed({ ...ABC[0]!, weight: 1, active: 4 }, { ...ABC[1]!, weight: 0 }), n: 3 },
    ]);
    // loh*w(B) > doh*w(A) moves to B: 0 vs 0 -> A; 256*1 > 0 -> B; 256 > 768? A; 512 > 768? A; 768 > 768? A; 1024 > 768 -> B; ...
    expect(wlc).toEqual(['A', 'B', 'A', 'A', 'A', 'B', 'A', 'A']);
    const [sed] = await golden('sed', [
      { title: 'weights 3, 1, idle: (active+1)/weight', svc: { scheduler: 'sed' }, dests: listed({ ...ABC[0]!, weight: 3 }, { ...ABC[1]!, weight: 1 }), n: 8 },
    ]);
    // A (0+1)/3 < B 1/1 -> A; A 2/3 < 1 -> A; A 3/3 = B 1/1 tie -> A; A 4/3 > 1 -> B; ...
    expect(sed).toEqual(['A', 'A', 'A', 'B', 'A', 'A', 'A', 'B']);
  });

  it('nq sends to the first idle server, otherwise as sed', async () => {
    const [nq] = await golden('nq', [
      { title: 'weights 3, 1: idle servers first', svc: { scheduler: 'nq' }, dests: listed({ ...ABC[0]!, weight: 3 }, { ...ABC[1]!, weight: 1 }), n: 8 },
    ]);
    // A idle -> A; B idle -> B; then sed on (active+1): A 2/3 < B 2/1 -> A; A 3/3 < 2 -> A; A 4/3 < 2 -> A; A 5/3 < 2 -> A; A 6/3 = 2 tie -> A; A 7/3 > 2 -> B
    expect(nq).toEqual(['A', 'B', 'A', 'A', 'A', 'A', 'A', 'B']);
  });

  const sources = ['192.168.4.200', '10.42.4.15', '10.42.1.7', '172.16.0.9', '10.0.0.1', '10.0.0.2'];
  const fromSources = (port = 80, sport = (i: number) => 33000 + i) => sources.map((s, i) => syn(ip(s), sport(i), ip('10.43.0.10'), port));

  it('sh hashes the source address into 256 weight-filled buckets', async () => {
    const dests = listed({ ...ABC[0]!, weight: 2 }, { ...ABC[1]!, weight: 1 }, ABC[2]!);
    const [plain, portFlag, fallback, noFallback] = await golden('sh', [
      { title: 'weights 2, 1, 1 (buckets A A B C A A B C ...)', svc: { scheduler: 'sh' }, dests, packets: fromSources() },
      { title: 'sh-port: the same client on two ports', svc: { scheduler: 'sh', flags: IP_VS_SVC_F_SCHED_SH_PORT }, dests, packets: [0, 1, 2, 3].map((i) => syn(ip('10.42.4.15'), 40000 + i, ip('10.43.0.10'), 80)) },
      { title: 'sh-fallback with A quiesced (weight 0)', svc: { scheduler: 'sh', flags: IP_VS_SVC_F_SCHED_SH_FALLBACK }, dests: listed({ ...ABC[0]!, weight: 0 }, ABC[1]!, ABC[2]!), packets: fromSources() },
      { title: 'no fallback with A quiesced: its clients get nothing', svc: { scheduler: 'sh' }, dests: listed({ ...ABC[0]!, weight: 0 }, ABC[1]!, ABC[2]!), packets: fromSources() },
    ]);
    // Independent check of the bucket: hash_32(ntohl(saddr) + port, 8) with BigInt arithmetic.
    const { ipvs } = model();
    const svc = ipvs.addService(svcSpec({ scheduler: 'sh' }));
    addDests(ipvs, svc, dests);
    const sched = svc.scheduler as ShScheduler;
    expect(sched.buckets.slice(0, 8).map((d) => formatIpv4(d!.addr))).toEqual(
      ['10.42.0.1', '10.42.0.1', '10.42.0.2', '10.42.0.3', '10.42.0.1', '10.42.0.1', '10.42.0.2', '10.42.0.3']);
    for (const s of sources) {
      const b = Number(((BigInt(ip(s)) * 0x61c88647n) & 0xffffffffn) >> 24n);
      expect(shHashKey(ip(s), 0, 0)).toBe(b);
    }
    expect(plain.every((x) => x !== '-')).toBe(true);
    expect(new Set(portFlag).size).toBeGreaterThan(1);
    expect(fallback.every((x) => x === 'B' || x === 'C')).toBe(true);
    // Without the flag a client whose bucket holds quiesced A gets no server at all.
    const q = model().ipvs;
    const qs = q.addService(svcSpec({ scheduler: 'sh' }));
    addDests(q, qs, listed({ ...ABC[0]!, weight: 0 }, ABC[1]!, ABC[2]!));
    const qb = (qs.scheduler as ShScheduler).buckets;
    sources.forEach((s, i) => expect(noFallback[i] === '-').toBe(formatIpv4(qb[shHashKey(ip(s), 0, 0)]!.addr) === '10.42.0.1'));
    expect(noFallback).toContain('-');
  });

  it('dh maps each destination address to one server (fwmark service)', async () => {
    const targets = ['93.184.216.34', '1.1.1.1', '8.8.8.8', '122.14.236.25', '10.43.0.10'];
    const pk = targets.map((t, i) => syn(ip('10.0.0.1'), 41000 + i, ip(t), 80, { mark: 7 }));
    const [dh] = await golden('dh', [
      { title: 'fwmark 7, three servers, five destinations', svc: { scheduler: 'dh', fwmark: 7 }, dests: listed(...ABC), packets: [...pk, ...pk.map((p) => ({ ...p, sport: p.sport + 100 }))] },
    ]);
    expect(dh.slice(5)).toEqual(dh.slice(0, 5));
  });

  it('mh builds the kernel Maglev table (4093 slots) with the kernel siphash', async () => {
    const [mh, port, fb] = await golden('mh', [
      { title: 'three servers, weight 1', svc: { scheduler: 'mh' }, dests: listed(...ABC), packets: fromSources() },
      { title: 'mh-port: one client, four ports', svc: { scheduler: 'mh', flags: IP_VS_SVC_F_SCHED_MH_PORT }, dests: listed(...ABC), packets: [0, 1, 2, 3].map((i) => syn(ip('10.42.4.15'), 40000 + i, ip('10.43.0.10'), 80)) },
      { title: 'mh-fallback with B quiesced (weight 0, last_weight kept)', svc: { scheduler: 'mh', flags: IP_VS_SVC_F_SCHED_MH_FALLBACK }, dests: listed(ABC[0]!, ABC[1]!, ABC[2]!), packets: fromSources(),
        change: { at: 0, run: (ipvs) => { ipvs.editDest(ipvs.services()[0]!, { addr: ip('10.42.0.2'), port: 80, fwd: 0, weight: 0 }); return 'B weight 0'; } } },
    ]);
    expect(mh.every((x) => x !== '-')).toBe(true);
    expect(port.length).toBe(4);
    expect(fb).not.toContain('B');
    expect(fb).not.toContain('-');
    const { ipvs } = model();
    const svc = ipvs.addService(svcSpec({ scheduler: 'mh' }));
    addDests(ipvs, svc, listed(...ABC));
    const s = svc.scheduler as MhScheduler;
    expect(s.size).toBe(4093);
    // Maglev fills every slot, each server close to a third.
    const counts = new Map<string, number>();
    for (const d of s.lookup) counts.set(formatIpv4(d!.addr), (counts.get(formatIpv4(d!.addr)) ?? 0) + 1);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(4093);
    for (const c of counts.values()) expect(Math.abs(c - 4093 / 3)).toBeLessThan(60);
  });

  it('lblc keeps a destination address on its server until it is overloaded', async () => {
    const pk = (t: string, i: number) => syn(ip('10.0.0.1'), 42000 + i, ip(t), 80, { mark: 9 });
    const [lblc] = await golden('lblc', [
      { title: 'fwmark 9; destinations x, y, x, x, z, y', svc: { scheduler: 'lblc', fwmark: 9 }, dests: listed(...ABC),
        packets: ['1.1.1.1', '2.2.2.2', '1.1.1.1', '1.1.1.1', '3.3.3.3', '2.2.2.2'].map(pk) },
    ]);
    // x -> wlc A; y -> wlc B (A busy); x cached A; x: A active 2 > weight 1 and C idle -> wlc C; z -> B? ...
    expect(lblc[0]).toBe('A');
    expect(lblc[1]).toBe('B');
    expect(lblc[2]).toBe('A');
  });

  it('lblcr replicates a busy destination address to more servers', async () => {
    const pk = (t: string, i: number) => syn(ip('10.0.0.1'), 43000 + i, ip(t), 80, { mark: 9 });
    const [lblcr] = await golden('lblcr', [
      { title: 'fwmark 9; destination x five times', svc: { scheduler: 'lblcr', fwmark: 9 }, dests: listed(...ABC),
        packets: ['1.1.1.1', '1.1.1.1', '1.1.1.1', '1.1.1.1', '1.1.1.1'].map(pk) },
    ]);
    expect(lblcr[0]).toBe('A');
    expect(lblcr[1]).toBe('A');
    expect(new Set(lblcr).size).toBeGreaterThan(1);
  });
});
