// Felix on a node shares its netfilter with flanneld and kube-proxy: each agent holds its own
// handle (its name in the action log), and whichever restores last must leave the namespace's
// hooks registered once, whoever registered them before.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenarioText } from '../../../src/scenario/load.js';
import { startRuntime } from '../../../src/scenario/runtime.js';

const CANAL = readFileSync(new URL('../../fixtures/kernel/two-node-canal.yaml', import.meta.url), 'utf8');
const FLANNEL = readFileSync(new URL('../../../scenarios/two-node-flannel.yaml', import.meta.url), 'utf8');

describe('Felix as a node agent', () => {
  it('programs the node only through ipset restore and iptables-restore --noflush, logged under its name', () => {
    const rt = startRuntime(loadScenarioText('c.yaml', CANAL, []));
    const felix = rt.world.log.actions.filter((a) => a.agent === 'calico-node/felix');
    expect(felix.map((a) => `${a.node} ${a.argv.join(' ')}`)).toEqual(
      ['node-a', 'node-b'].flatMap((n) => [`${n} ipset restore`, ...['mangle', 'nat', 'filter', 'raw'].map(() => `${n} iptables-restore --noflush`)]),
    );
    const tables = felix.filter((a) => a.argv[0] === 'iptables-restore').map((a) => a.input!.split('\n')[0]);
    expect(tables).toEqual(['*mangle', '*nat', '*filter', '*raw', '*mangle', '*nat', '*filter', '*raw']);
    // Each table's input ends its one transaction with COMMIT, after Felix's -I hooks.
    for (const a of felix.filter((x) => x.argv[0] === 'iptables-restore')) expect(a.input!).toMatch(/\n-I [A-Z]+ -m comment --comment "cali:\S{16}" --jump cali-[A-Z]+\n(-A .*\n)*COMMIT\n$/);
  });

  it('agents\' handles share the hook registration: a later restore by another agent does not register hooks twice', () => {
    const rt = startRuntime(loadScenarioText('f.yaml', FLANNEL, []));
    const root = rt.world.getNetns('node-a', 'root')!;
    const kubeProxy = rt.world.iptables.get(root)!;
    const other = kubeProxy.withAgent('calico-node/felix');
    const count = (): number => root.hookList('PREROUTING').filter((o) => o.owner === 'raw').length;
    expect(count()).toBe(0);
    other.restore('*raw\n:cali-PREROUTING - -\n-I PREROUTING --jump cali-PREROUTING\nCOMMIT\n', { noflush: true });
    expect(count()).toBe(1);
    // The first handle restores again (a kube-proxy resync): still one raw hook at PREROUTING.
    kubeProxy.restore('*raw\n-A cali-PREROUTING -j ACCEPT\nCOMMIT\n', { noflush: true });
    expect(count()).toBe(1);
    kubeProxy.restore('*mangle\n:KUBE-X - [0:0]\nCOMMIT\n', { noflush: true });
    expect(count()).toBe(1);
    expect(root.hookList('PREROUTING').filter((o) => o.owner === 'mangle').length).toBe(1);
  });
});
