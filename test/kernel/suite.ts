// The differential suite's driver: one scenario as a model runtime and in real namespaces,
// the tables of every namespace compared, then exchanges sent on both and compared frame by
// frame per interface and direction, with conntrack -L of every node. Everything made is
// removed in afterAll, whatever failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareExchange, compareTables } from '../../src/kernel/compare.js';
import { compareAll, type Compared, type KnownDifference } from '../../src/kernel/diff.js';
import { netnsList } from '../../src/kernel/host.js';
import { kernelDown, kernelUp, type UpReport } from '../../src/kernel/up.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime, type Runtime } from '../../src/scenario/runtime.js';
import type { Proto } from '../../src/scenario/trace/exchange.js';

export interface ExchangeCase {
  readonly from: string;
  readonly to: string;
  readonly proto: Proto;
  /** ICMP data bytes (ping -s). */
  readonly pingSize?: number;
  /** Whether the model (and so the kernel) delivers it. */
  readonly delivered: boolean;
  /**
   * Seconds the client waits (default 3). A TCP client that gets no answer retransmits its
   * SYN (Linux 6.18: after 1, 2, 3, 4 s; the model: 1, 3, 7 s): a timeout on one of those
   * times races the retransmission.
   */
  readonly timeout?: number;
  /**
   * The exchange meets a choice the kernel makes at random (statistic's endpoint, a
   * `--random-fully` port whose digits show in an echo body): the kernel's side is sent
   * again (up to 14 times, from the same start) until it chose as the seeded model did, then
   * compared in full. Both answers must match this.
   */
  readonly anyOf?: RegExp;
  /**
   * What reached one interface, checked on the kernel's frames (and the model's, which the
   * comparison then holds equal): the IPv4 sources of the frames seen there in the given
   * direction, e.g. a NodePort with eTP Local keeping the client's address. `[]`: none came.
   */
  readonly sourcesAt?: { readonly iface: string; readonly direction: 'in' | 'out'; readonly sources: readonly string[] };
}

/** The IPv4 source addresses (outer header) of an item's frame lines, in order of appearance. */
export function frameSources(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const m = / IP (\d+\.\d+\.\d+\.\d+) > /.exec(l);
    if (m && !out.includes(m[1]!)) out.push(m[1]!);
  }
  return out;
}

export interface ScenarioCase {
  /** Short, unique per file: part of the namespace prefix. */
  readonly tag: string;
  readonly file: string;
  readonly sets?: readonly string[];
  /** What an operator does on top of the agents (logged, so replayed too). */
  readonly extra?: (rt: Runtime) => void;
  readonly exchanges: readonly ExchangeCase[];
  /** Known differences; each is written up in docs/kernel-mode.md. */
  readonly allow: readonly KnownDifference[];
  /** Replayed commands expected to fail or be unavailable here (by argv text). */
  readonly expectProblems?: readonly RegExp[];
}

const SETTLE_MS = 4000;

function check(items: Compared[], allow: readonly KnownDifference[]): void {
  const rep = compareAll(items, allow);
  // One line per known difference seen: how many lines, in how many items.
  const seen = new Map<string, { lines: number; items: Set<string> }>();
  for (const k of rep.known) {
    const s = seen.get(k.why) ?? { lines: 0, items: new Set<string>() };
    s.lines++;
    s.items.add(k.item);
    seen.set(k.why, s);
  }
  for (const [why, s] of seen) console.info(`known difference (${why}): ${s.lines} lines in ${s.items.size} items, e.g. ${[...s.items][0]}`);
  expect(rep.failures, `model and kernel differ:\n${rep.failures}`).toBe('');
}

export function differential(c: ScenarioCase, fileTag: string): void {
  describe(`model vs kernel: ${c.tag} (${c.file}${c.sets?.length ? ` --set ${c.sets.join(' ')}` : ''})`, () => {
    const prefix = `kwt-${fileTag}${c.tag}-${process.pid}`;
    const stateDir = mkdtempSync(join(tmpdir(), `${prefix}-state-`));
    let rt: Runtime;
    let up: UpReport;
    beforeAll(async () => {
      rt = startRuntime(loadScenarioFile(c.file, c.sets ?? []));
      c.extra?.(rt);
      up = kernelUp(rt, { prefix, stateDir, scenarioPath: c.file, sets: c.sets ?? [] });
      // The apps' startup traffic (CoreDNS's loop probe, forwarded upstream) runs on real time
      // in the kernel and simulated time in the model: both timelines move on by the same
      // SETTLE before anything is compared.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      rt.world.run(SETTLE_MS * 1e6);
    }, 180_000);
    afterAll(() => {
      kernelDown(prefix, stateDir);
      rmSync(stateDir, { recursive: true, force: true });
      // Nothing of this cluster is left (cli.test.ts checks `ip netns list` as a whole).
      expect(netnsList().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    });

    it('replays every agent command (or says why not)', () => {
      const expected = c.expectProblems ?? [];
      const unexpected = up.problems.filter((p) => !expected.some((re) => re.test(`${p.command}: ${p.reason}`)));
      expect(unexpected).toEqual([]);
      expect(up.plan.namespaces.every((n) => netnsList().includes(n))).toBe(true);
    });

    it('has the same ip addr, ip route, ip neigh, bridge fdb and iptables-save in every namespace', () => {
      check(compareTables(rt, up.plan), c.allow);
    }, 120_000);

    for (const x of c.exchanges) {
      it(`sends ${x.from} -> ${x.to} ${x.proto}${x.pingSize ? ` -s ${x.pingSize}` : ''} the same way`, async () => {
        // CoreDNS's own traffic (loop probe, forward health checks toward an upstream that
        // answers port unreachable) runs on its timers on both sides; no exchange here uses DNS.
        const background = [...rt.world.pods.values()].filter((p) => p.pod.metadata.name.startsWith('coredns-')).map((p) => p.pod.status!.podIP!);
        const r = await compareExchange(rt, up.plan, x.from, x.to, x.proto, { flushConntrack: true, flushNeighbours: true, background, ...(x.anyOf ? { randomChoice: { attempts: 14 } } : {}), ...(x.timeout !== undefined ? { timeout: x.timeout } : {}), ...(x.pingSize !== undefined ? { pingSize: x.pingSize } : {}) });
        expect(r.model.delivered).toBe(x.delivered);
        expect({ delivered: r.kernel.delivered }).toEqual({ delivered: r.model.delivered });
        if (x.sourcesAt) {
          const item = r.items.find((it) => it.item === `${x.sourcesAt!.iface} ${x.sourcesAt!.direction} frames`);
          expect({ kernel: frameSources(item?.kernel ?? ''), model: frameSources(item?.model ?? '') }).toEqual({ kernel: x.sourcesAt.sources, model: x.sourcesAt.sources });
        }
        if (x.anyOf) {
          expect(r.model.response).toMatch(x.anyOf);
          expect(r.kernel.response).toMatch(x.anyOf);
          console.info(`${x.from} -> ${x.to}: the kernel chose as the model did on attempt ${r.attempts}`);
        }
        expect(r.kernel.response).toBe(r.model.response);
        // Not vacuous: the kernel's taps saw the exchange, on the sender's side at least.
        expect(r.items.filter((it) => it.item.endsWith(' frames') && it.kernel !== '').length).toBeGreaterThan(1);
        // Neighbours were flushed: a pod resolves its gateway again, and that ARP is compared.
        if (x.from.startsWith('pod/')) {
          expect(r.items.some((it) => it.item.endsWith(' frames') && / ARP who-has /.test(it.kernel))).toBe(true);
          // ... and has learned it again, on both sides alike (compared in `ip neigh after`).
          const ns = resolvePlace(rt, x.from).netns;
          expect(r.items.find((it) => it.item === `${ns.node}/${ns.netns} ip neigh after`)?.kernel).toMatch(/ dev eth0 lladdr \S+ \(learned\)$/m);
        }
        check(r.items, c.allow);
      }, x.anyOf ? 600_000 : 120_000);
    }
  });
}
