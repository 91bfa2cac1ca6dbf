// kube-proxy's own programming cost on kubewire, with the payload the real proxier writes (not
// a hand-made one; bench/netfilter.bench.ts times gen_kp.py's):
// - full-sync generation: IptablesProxier / IpvsProxier.syncProxyRules() for N Services x 2
//   endpoints into an in-memory backend that only keeps the text (upstream's FakeIPTables
//   semantics for iptables mode; MemoryIpvs for IPVS);
// - iptables-restore of that generated full-sync payload into the netfilter model (parse,
//   compile, link), at 10,000 Services and below;
// - the partial sync after adding one Service (iptables mode).
// Real-kernel anchors (reference/kernel-costs.md §1): legacy restore 1.03 s, nft 3.1 s at 10k.
import { Bench } from 'tinybench';
import type { IptablesBackend } from '../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../src/k8s/kube-proxy/config.js';
import { IptablesProxier, jumpRulesRestoreText } from '../src/k8s/kube-proxy/iptables.js';
import { IpvsProxier, MemoryIpvs, type NetlinkBackend } from '../src/k8s/kube-proxy/ipvs.js';
import { Netfilter } from '../src/netfilter/netfilter.js';
import { BenchNode } from '../src/bench/node.js';
import { CLUSTER_CIDR, NODE_POD_CIDR, syntheticCluster, syntheticService } from '../src/bench/synth.js';

/** Keeps the last payload; chains and jump rules are accepted as kube-proxy's -N / -C ask. */
class TextOnly implements IptablesBackend {
  readonly hasRandomFully = true;
  last = '';
  restoreAll(text: string): void {
    this.last = text;
  }
  listChains(): string[] {
    return [];
  }
  ensureChain(): boolean {
    return true;
  }
  ensureRule(): boolean {
    return true;
  }
}

class MemoryNetlink implements NetlinkBackend {
  private readonly bound = new Set<string>();
  ensureDummyDevice(): boolean {
    return true;
  }
  getLocalAddresses(): string[] {
    return [...this.bound];
  }
  getAllLocalAddressesExcept(): string[] {
    return ['192.168.1.10'];
  }
  ensureAddressBind(a: string): boolean {
    const had = this.bound.has(a);
    this.bound.add(a);
    return had;
  }
  unbindAddress(a: string): void {
    this.bound.delete(a);
  }
}

const nowNs = (): number => Number(process.hrtime.bigint());

export async function run(): Promise<void> {
  const sizes = (process.env.RESTORE_BENCH_SIZES ?? '1000,10000').split(',').map(Number);
  const rows: Record<string, string | number>[] = [];
  for (const n of sizes) {
    const c = syntheticCluster({ services: n, endpointsPerService: 2, portsPerService: 1 });
    const bench = new Bench({ name: `kube-proxy ${n}`, time: 1500, warmupTime: 200, iterations: 3 });
    const ipt = new TextOnly();
    bench.add(`iptables full-sync generation, ${n} Services`, () => {
      const p = new IptablesProxier({ nodeName: 'bench-node', nodeIP: '192.168.1.10', config: kubeProxyConfig({ clusterCIDR: CLUSTER_CIDR }), backend: ipt, nodePodCIDR: NODE_POD_CIDR, nfacctCounters: { ctStateInvalidDropped: false, localhostNodePortsAccepted: false } });
      for (const s of c.services) p.onServiceAdd(s);
      for (const e of c.slices) p.onEndpointSliceAdd(e);
      p.syncProxyRules();
    });
    bench.add(`ipvs full-sync generation (MemoryIpvs), ${n} Services`, () => {
      const p = new IpvsProxier({ nodeName: 'bench-node', nodeIP: '192.168.1.10', config: kubeProxyConfig({ mode: 'ipvs', clusterCIDR: CLUSTER_CIDR }), iptables: new TextOnly(), ipvs: new MemoryIpvs(), netlink: new MemoryNetlink(), nodePodCIDR: NODE_POD_CIDR });
      for (const s of c.services) p.onServiceAdd(s);
      for (const e of c.slices) p.onEndpointSliceAdd(e);
      p.syncProxyRules();
    });
    // The payload the proxier wrote for this size, loaded as kube-proxy loads it.
    const node = new BenchNode('iptables', nowNs);
    const payload = node.sync(c.services, c.slices).result.restoreText;
    const jumps = jumpRulesRestoreText();
    bench.add(`iptables-restore --noflush of the generated payload (${payload.split('\n').length - 1} lines), ${n} Services`, () => {
      const nf = new Netfilter(node.root);
      nf.restore(jumps, { noflush: true });
      nf.restore(payload, { noflush: true, counters: true });
    });
    let k = n;
    bench.add(`partial sync (+1 Service: generate + restore), ${n} Services`, () => {
      const extra = syntheticService(k++, 2, 1);
      node.sync([extra.service], [extra.slice]);
    });
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`);
      rows.push({ task: t.name, 'ms (median)': r.latency.p50!.toFixed(1), 'ms (mean)': r.latency.mean.toFixed(1), samples: r.latency.samplesCount });
    }
  }
  console.table(rows);
}
