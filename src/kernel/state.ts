// The tables the differential suite compares, printed by the model's printers and read from
// the kernel with the real tools, each normalised only where a real system is random or
// where kubewire's hardware stand-in (a veth on a switch bridge for a NIC) shows.
import type { World } from '../k8s/cluster/world.js';
import { bridgeFdb } from '../linux/print/bridge-fdb.js';
import { ipAddr } from '../linux/print/ip-addr.js';
import { ipNeigh } from '../linux/print/ip-neigh.js';
import { ipRoute } from '../linux/print/ip-route.js';
import type { Netns } from '../linux/netns.js';
import { run } from './host.js';
import { realNs } from './plan.js';

export const STATE_KINDS = ['ip addr', 'ip route', 'ip neigh', 'bridge fdb', 'iptables-save'] as const;
export type StateKind = (typeof STATE_KINDS)[number];

/** iptables-save without the header comments and with chain counters zeroed (they count traffic). */
export function normaliseSave(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1 [0:0]'))
    .join('\n');
}

/** conntrack -L rows without what is timing or random: timeouts, ephemeral ports, ids; sorted. */
export function normaliseConntrack(text: string, ephemeral: (port: number) => string = (p) => (p >= 32768 ? 'EPH' : String(p))): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('conntrack v'))
    .map((l) =>
      l
        .replace(/^(\S+\s+\d+) \d+ /, '$1 T ')
        .replace(/\b(sport|dport)=(\d+)/g, (_m, k: string, p: string) => `${k}=${ephemeral(Number(p))}`)
        .replace(/ id=\d+/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .sort()
    .join('\n');
}

const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A NIC is a veth to the switch namespace here: `eth0@ifN` and `link-netns <switch>` on its
 * lines are the stand-in, not the model's, and go. Its qdisc too: a NIC driver gets the
 * default qdisc (fq_codel), a veth none (noqueue), and this kernel has no fq_codel to set;
 * on both sides a NIC's header line says `qdisc (nic)`.
 */
export function normaliseKernelAddr(text: string, nics: readonly string[], switchNs: string): string {
  let out = text;
  for (const nic of nics) out = out.replace(new RegExp(`^(\\d+: ${reEscape(nic)})@if\\d+:`, 'gm'), '$1:');
  return normaliseNicQdisc(out.replace(new RegExp(` link-netns ${reEscape(switchNs)}$`, 'gm'), ''), nics);
}

export function normaliseNicQdisc(text: string, nics: readonly string[]): string {
  let out = text;
  for (const nic of nics) out = out.replace(new RegExp(`^(\\d+: ${reEscape(nic)}: .* qdisc )\\S+`, 'gm'), '$1(nic)');
  return out;
}

/** `link-netns kw-node-a-root` -> `link-netns root`: the model names namespaces per machine. */
export function unprefixNetns(text: string, prefix: string, machine: string): string {
  return text.replaceAll(` link-netns ${realNs(prefix, machine, '')}`, ' link-netns ');
}

/** The kernel lists neighbours in hash order, and the hash is keyed at random (neigh_hash_alloc). */
export function sortLines(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '');
  return lines.length ? `${lines.sort().join('\n')}\n` : '';
}

/**
 * `ip neigh` with the state of learned entries (REACHABLE, STALE, DELAY, PROBE) replaced by
 * `(learned)`: which one an entry is in depends on when it was last confirmed, real time in
 * the kernel and simulated time in the model. Entries, addresses and PERMANENT/NOARP/FAILED
 * states stay.
 */
export function normaliseNeigh(text: string): string {
  return sortLines(text.replace(/ (REACHABLE|STALE|DELAY|PROBE) *$/gm, ' (learned)'));
}

/**
 * The model prints a veth peer's namespace as a real node would: `link-netnsid N` for one
 * with no /var/run/netns name (a machine's own, docker's sandboxes), `link-netns cni-<uuid>`
 * for containerd's. Here every namespace is named (`ip netns add`), so both become the
 * peer's model name, as unprefixNetns leaves the kernel's.
 */
export function peerNamesAsLabels(w: World, ns: Netns, text: string): string {
  const byMount = new Map<string, string>();
  for (const n of w.allNetns()) if (n.node === ns.node && n.mountName !== null) byMount.set(n.mountName, n.netns);
  return text
    .replace(/ link-netnsid (\d+)$/gm, (all, id: string) => {
      const peer = ns.peerByNsid(Number(id));
      return peer ? ` link-netns ${peer.netns}` : all;
    })
    .replace(/ link-netns (\S+)$/gm, (all, name: string) => (byMount.has(name) ? ` link-netns ${byMount.get(name)!}` : all));
}

export function modelState(w: World, ns: Netns, kind: StateKind): string {
  switch (kind) {
    case 'ip addr':
      return normaliseNicQdisc(peerNamesAsLabels(w, ns, ipAddr(ns)), ns.devicesInOrder().filter((d) => d.kind === 'nic').map((d) => d.name));
    case 'ip route':
      return ipRoute(ns);
    case 'ip neigh':
      return normaliseNeigh(ipNeigh(ns));
    case 'bridge fdb':
      return bridgeFdb(ns);
    case 'iptables-save': {
      const ipt = w.iptables.get(ns);
      return ipt ? normaliseSave(ipt.nf.save({ header: false })) : '';
    }
  }
}

export function kernelState(prefix: string, switchNs: string, ns: Netns, kind: StateKind): string {
  const real = realNs(prefix, ns.node, ns.netns);
  const exec = (argv: string[]): string => {
    const r = run(['ip', 'netns', 'exec', real, ...argv]);
    if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${real}: ${r.stderr}`);
    return r.stdout;
  };
  const nics = ns.devicesInOrder().filter((d) => d.kind === 'nic').map((d) => d.name);
  switch (kind) {
    case 'ip addr':
      return unprefixNetns(normaliseKernelAddr(exec(['ip', 'addr']), nics, switchNs), prefix, ns.node);
    case 'ip route':
      return exec(['ip', 'route']);
    case 'ip neigh':
      return normaliseNeigh(exec(['ip', 'neigh']));
    case 'bridge fdb':
      return exec(['bridge', 'fdb']);
    case 'iptables-save':
      return normaliseSave(exec(['iptables-save']));
  }
}
