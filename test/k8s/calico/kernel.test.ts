// Felix's programming loaded into a real kernel: the seed's 192.168.4.88 (Canal, kube-proxy in
// ipvs mode, so Felix's forward-check and endpoint-mark chains are there) replays every
// iptables/ipset command the agents logged for the node into a fresh network namespace; the
// real iptables-save and `iptables -L -n -v` must print exactly what kubewire's printers do
// (counters aside), and the real ipsets hold what the model's hold. The kernel differential suite (test/kernel) covers
// the iptables-mode Canal clusters, packets included.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../../src/scenario/load.js';
import { startRuntime } from '../../../src/scenario/runtime.js';
import { missing } from '../../helpers/tools.js';

const why = missing({ root: true, tools: ['ip', 'iptables-restore', 'iptables-save', 'iptables', 'ipset'] });
const PREFIX = `kwt-calico-${process.pid}-`;
const made: string[] = [];

function run(argv: string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), { input: input ?? '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** iptables-save without its date lines and with counters zeroed: what both sides must agree on. */
function normalise(s: string): string {
  return s
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n');
}

/** `ipset save` as name -> sorted members (the kernel lists in hash order, the model in insertion order). */
function sets(save: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const l of save.split('\n')) {
    const w = l.split(' ');
    if (w[0] === 'create') m.set(w[1]!, []);
    else if (w[0] === 'add') m.get(w[1]!)?.push(w.slice(2).join(' '));
  }
  for (const v of m.values()) v.sort();
  return m;
}

afterAll(() => {
  for (const n of made) {
    try {
      run(['ip', 'netns', 'del', n]);
    } catch {
      /* already gone */
    }
  }
});

describe.skipIf(why !== null)('Felix in a real kernel', () => {
  it("the seed's 192.168.4.88: every iptables/ipset command replays and iptables-save matches the model's", () => {
    const rt = startRuntime(loadScenarioFile(new URL('../../../scenarios/seed.yaml', import.meta.url).pathname, []));
    const node = '192.168.4.88';
    const acts = rt.world.log.actions.filter((a) => a.node === node && a.netns === 'root' && ['iptables', 'iptables-restore', 'ipset'].includes(a.argv[0]!));
    expect(acts.some((a) => a.agent === 'calico-node/felix' && a.argv[0] === 'iptables-restore')).toBe(true);
    expect(acts.some((a) => a.agent === 'calico-node/felix' && a.argv[0] === 'ipset')).toBe(true);
    const ns = `${PREFIX}88`;
    run(['ip', 'netns', 'add', ns]);
    made.push(ns);
    for (const a of acts) {
      try {
        run(['ip', 'netns', 'exec', ns, ...a.argv], a.input);
      } catch (e) {
        throw new Error(`${a.agent}: ${a.argv.join(' ')} failed: ${(e as { stderr?: string }).stderr ?? e}`);
      }
    }
    const nf = rt.world.iptables.get(rt.world.getNetns(node, 'root')!)!.nf;
    const real = normalise(run(['ip', 'netns', 'exec', ns, 'iptables-save']));
    expect(real).toContain('-A cali-forward-check');
    expect(real).toBe(normalise(nf.save()));
    // And `iptables -t T -L -n -v` (each extension's print text: rpfilter, set, mark, ...).
    for (const t of ['raw', 'mangle', 'nat', 'filter'] as const) {
      expect(run(['ip', 'netns', 'exec', ns, 'iptables', '-t', t, '-L', '-n', '-v'])).toBe(nf.list(t));
    }
    const realSets = sets(run(['ip', 'netns', 'exec', ns, 'ipset', 'save']));
    const modelSets = sets(nf.ipsetSave());
    expect(realSets.get('cali40this-host')).toEqual(['10.42.4.0', '127.0.0.1', '172.17.0.1', '192.168.4.88']);
    expect(Object.fromEntries([...realSets].sort())).toEqual(Object.fromEntries([...modelSets].sort()));
  });
});
