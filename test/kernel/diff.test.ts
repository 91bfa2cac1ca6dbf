// The differ of the differential suite: exact diff -u shape, reconstruction of both sides,
// and that a deliberately wrong model (a TTL not decremented on a routed hop, a wrong route
// line) fails with a diff naming it, while a known difference passes only for its own line.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareAll, diffLines, unifiedDiff, type KnownDifference } from '../../src/kernel/diff.js';
import { frameContext, framesByInterface } from '../../src/kernel/frames.js';
import { ipRoute } from '../../src/linux/print/ip-route.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { resolveTarget, runExchange } from '../../src/scenario/trace/exchange.js';

describe('unifiedDiff', () => {
  it('is empty for equal texts and prints diff -u hunks otherwise', () => {
    expect(unifiedDiff('a', 'b', 'x\ny\n', 'x\ny\n')).toBe('');
    const text = unifiedDiff('model r', 'kernel r', 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\n', 'l1\nl2\nl3\nl4\nL5\nl6\nl7\nl8\nl9\nl10\n');
    expect(text).toBe(
      ['--- model r', '+++ kernel r', '@@ -2,8 +2,9 @@', ' l2', ' l3', ' l4', '-l5', '+L5', ' l6', ' l7', ' l8', ' l9', '+l10', ''].join('\n'),
    );
    // Far-apart changes make separate hunks.
    const a = Array.from({ length: 20 }, (_, i) => `x${i}`);
    const b = a.map((l, i) => (i === 1 || i === 18 ? `${l}!` : l));
    expect(unifiedDiff('a', 'b', a, b).match(/^@@/gm)).toHaveLength(2);
  });

  it('keeps both sides: context and deletions give the model, context and insertions the kernel', () => {
    const lines = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 });
    fc.assert(
      fc.property(lines, lines, (a, b) => {
        const d = diffLines(a, b);
        expect(d.filter((l) => l.op !== '+').map((l) => l.text)).toEqual(a);
        expect(d.filter((l) => l.op !== '-').map((l) => l.text)).toEqual(b);
        if (a.join('\n') === b.join('\n')) expect(d.every((l) => l.op === ' ')).toBe(true);
        else expect(d.some((l) => l.op !== ' ')).toBe(true);
      }),
    );
  });
});

describe('a deliberately wrong model fails the comparison', () => {
  const rt = startRuntime(loadScenarioFile('scenarios/two-node-flannel.yaml', []));
  const echoB = [...rt.world.pods.values()].find((p) => p.node.name === 'node-b' && p.pod.metadata.name.startsWith('echo-'))!;
  const r = runExchange(rt, resolvePlace(rt, 'pod/default/client'), resolveTarget(rt, `${echoB.pod.status!.podIP}:8080`), 'tcp');
  const frames = r.steps.flatMap((s) => (s.type === 'frame' ? [{ label: s.iface, direction: s.direction, bytes: s.bytes }] : []));
  const asItems = (fs: typeof frames) => [...framesByInterface(fs, frameContext([8080]))].map(([item, l]) => ({ item, text: `${l.join('\n')}\n` }));
  const right = asItems(frames);

  // node-a forwards the SYN from cni0 to flannel.1: there its TTL is 63. A model that forgot
  // ip_decrease_ttl would send it with 64.
  const wrongFrames = frames.map((f, i) => {
    if (f.label !== 'node-a/root/flannel.1' || f.direction !== 'out' || i !== frames.findIndex((g) => g.label === f.label && g.direction === 'out')) return f;
    const b = f.bytes.slice();
    expect(b[14 + 8]).toBe(63);
    b[14 + 8] = 64;
    return { ...f, bytes: b };
  });
  const wrong = asItems(wrongFrames);

  it('shows the TTL of the routed hop in a unified diff', () => {
    expect(r.delivered).toBe(true);
    const rep = compareAll(right.map((x, i) => ({ item: x.item, model: wrong[i]!.text, kernel: x.text })));
    expect(rep.failures).toContain('--- model node-a/root/flannel.1 out');
    expect(rep.failures).toMatch(/^-.* ttl 64 .*\[S\]/m);
    expect(rep.failures).toMatch(/^\+.* ttl 63 .*\[S\]/m);
    // Only that interface and direction differ.
    expect(rep.failures.match(/^--- /gm)).toHaveLength(1);
    expect(compareAll(right.map((x) => ({ item: x.item, model: x.text, kernel: x.text }))).failures).toBe('');
  });

  it('a wrong route line fails; a known difference allows exactly its line', () => {
    const ns = rt.world.getNetns('node-a', 'root')!;
    const good = ipRoute(ns);
    const bad = good.replace('10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink', '10.42.1.0/24 via 10.42.1.0 dev flannel.1');
    expect(bad).not.toBe(good);
    const item = { item: 'node-a/root ip route', model: bad, kernel: good };
    const rep = compareAll([item]);
    expect(rep.failures).toContain('-10.42.1.0/24 via 10.42.1.0 dev flannel.1 \n');
    expect(rep.failures).toContain('+10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink \n');
    const allow: KnownDifference[] = [
      { item: /ip route$/, op: '-', line: '10.42.1.0/24 via 10.42.1.0 dev flannel.1 ', why: 'test' },
      { item: /ip route$/, op: '+', line: '10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink ', why: 'test' },
    ];
    const ok = compareAll([item], allow);
    expect(ok.failures).toBe('');
    expect(ok.known).toHaveLength(2);
    expect(ok.unused).toEqual([]);
    // A second, unlisted difference still fails, and an allowance that matched nothing is reported.
    const worse = bad.replace('default via 192.168.4.1 dev eth0', 'default via 192.168.4.2 dev eth0');
    const rep2 = compareAll([{ ...item, model: worse }], [...allow, { item: 'nothing', op: '+', line: 'x', why: 'stale' }]);
    expect(rep2.failures).toContain('-default via 192.168.4.2 dev eth0');
    expect(rep2.failures).not.toContain('onlink');
    expect(rep2.unused.map((u) => u.why)).toEqual(['stale']);
  });
});
