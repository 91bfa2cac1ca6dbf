// The replay plan: which host commands a world becomes (no root needed to check them).
import { describe, expect, it } from 'vitest';
import { IPVS_MISSING, planKernel, realNs } from '../../src/kernel/plan.js';
import { formatMac } from '../../src/wire/mac-address.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';

const flannel = startRuntime(loadScenarioFile('scenarios/two-node-flannel.yaml', []));

describe('planKernel', () => {
  const plan = planKernel(flannel.world, { prefix: 'kwp' });
  const words = plan.commands.map((c) => c.argv.join(' '));

  it('makes one namespace per model namespace plus the switch, each with lo up and no IPv6', () => {
    expect(plan.namespaces).toEqual(['kwp-switch', ...flannel.world.allNetns().map((n) => realNs('kwp', n.node, n.netns))]);
    for (const ns of plan.namespaces) {
      expect(words).toContain(`ip netns add ${ns}`);
      expect(words).toContain(`ip -n ${ns} link set lo up`);
      expect(words).toContain(`ip netns exec ${ns} sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1`);
    }
  });

  it('stands a veth to a segment bridge in for each NIC, with the model MAC and MTU', () => {
    const eth0 = flannel.world.machines.get('node-a')!.root.dev('eth0')!;
    const line = words.find((w) => w.includes(`netns kwp-node-a-root`) && w.startsWith('ip -n kwp-switch link add'));
    expect(line).toMatch(new RegExp(`^ip -n kwp-switch link add p\\d+ mtu 1500 type veth peer name eth0 address ${formatMac(eth0.mac)} mtu 1500 netns kwp-node-a-root$`));
    // underlay and internet segments, every machine's NIC on one.
    expect(words.filter((w) => / link add seg\d+ type bridge$/.test(w))).toHaveLength(2);
    expect(words.filter((w) => / link set p\d+ master seg\d+ up$/.test(w))).toHaveLength(5);
  });

  it('replays every action in order in its namespace, netns names rewritten, veth MACs pinned', () => {
    const actions = plan.commands.filter((c) => c.phase === 'action' && c.action?.argv[0] !== 'nfacct');
    expect(actions.map((c) => c.action)).toEqual(flannel.world.log.actions);
    const client = flannel.world.getNetns('node-a', 'client')!;
    const veth = flannel.world.pods.get('default/client')!.hostVeth;
    const add = actions.find((c) => c.ns === 'kwp-node-a-client' && c.action!.argv.join(' ').includes('type veth'))!;
    expect(add.argv.join(' ')).toBe(
      `ip -n kwp-node-a-client link add eth0 mtu 1450 address ${formatMac(client.dev('eth0')!.mac)} type veth peer name ${veth} address ${formatMac(flannel.world.machines.get('node-a')!.root.dev(veth)!.mac)} netns kwp-node-a-root`,
    );
    const restore = actions.find((c) => c.action!.argv[0] === 'iptables-restore')!;
    expect(restore.argv.slice(0, 4)).toEqual(['ip', 'netns', 'exec', 'kwp-node-a-root']);
    expect(restore.input).toBe(restore.action!.input);
    expect(words).toContain('bridge -n kwp-node-a-root ' + flannel.world.log.actions.find((a) => a.node === 'node-a' && a.argv[0] === 'bridge')!.argv.slice(1).join(' '));
  });

  it("creates kube-proxy's nfacct counters before the first rule naming them", () => {
    const i = plan.commands.findIndex((c) => c.action?.argv.join(' ') === 'nfacct add ct_state_invalid_dropped_pkts' && c.ns === 'kwp-node-a-root');
    const j = plan.commands.findIndex((c) => c.ns === 'kwp-node-a-root' && (c.input ?? '').includes('--nfacct-name ct_state_invalid_dropped_pkts'));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(j).toBeGreaterThan(i);
  });

  it('marks what this kernel cannot do (IPVS, dummy links) instead of running it', () => {
    const ipvs = startRuntime(loadScenarioFile('scenarios/seed.yaml', []));
    const p = planKernel(ipvs.world, { prefix: 'kwp' });
    const un = p.commands.filter((c) => c.unavailable);
    expect(un.some((c) => c.action?.argv[0] === 'ipvsadm' || c.action?.argv.some((a) => a.startsWith('net.ipv4.vs.')))).toBe(true);
    expect(un.filter((c) => c.action?.argv[0] === 'ipvsadm').every((c) => c.unavailable === IPVS_MISSING)).toBe(true);
    expect(IPVS_MISSING).toContain('kubeProxy.mode=iptables');
    const dummy = un.find((c) => c.action?.argv.includes('dummy'));
    expect(dummy?.unavailable).toBe('this kernel cannot make a dummy link (no dummy module)');
    // In iptables mode nothing is left out.
    const ipt = planKernel(startRuntime(loadScenarioFile('scenarios/seed.yaml', ['kubeProxy.mode=iptables'])).world, { prefix: 'kwp' });
    expect(ipt.commands.filter((c) => c.unavailable)).toEqual([]);
  });
});
