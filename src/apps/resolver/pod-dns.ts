import type { Pod } from '../../k8s/api/types.js';
import { parseResolvConf } from './resolvconf.js';

/** What kubelet hands the runtime for a pod's /etc/resolv.conf (pkg/kubelet/network/dns/dns.go). */
export interface PodDnsConfig {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export interface KubeletDnsSettings {
  /** kubelet `--cluster-dns` (clusterDNS), e.g. ['10.43.0.10']. */
  clusterDNS: readonly string[];
  /** kubelet `--cluster-domain`, e.g. `cluster.local`. */
  clusterDomain: string;
  /** The node's resolv.conf (kubelet `--resolv-conf`), for Default and the host search list. */
  nodeResolvConf: string;
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_CHARS = 2048;

function omitDuplicates<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => xs.indexOf(x) === i);
}

function nodeOptions(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'options') out.push(...f.slice(1));
  }
  return out;
}

/**
 * `Configurer.GetPodDNS`: the dnsPolicy table (ClusterFirst, ClusterFirstWithHostNet,
 * Default, None; ClusterFirst on hostNetwork means Default), then `dnsConfig` merged in:
 * nameservers and searches appended without duplicates, options merged by name (the pod
 * wins). kubelet builds the merged options from a Go map, so their order is unspecified;
 * kubewire sorts them by name. Limits: 3 nameservers, 32 search domains / 2048 characters.
 */
export function podDnsConfig(pod: Pod, k: KubeletDnsSettings): PodDnsConfig {
  let policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && pod.spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  const node = parseResolvConf(k.nodeResolvConf);
  const nodeNs = k.nodeResolvConf.split('\n').some((l) => l.trim().startsWith('nameserver')) ? node.nameservers : [];
  let cfg: PodDnsConfig;
  if (policy === 'None') cfg = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default') cfg = { nameservers: [...nodeNs], searches: [...node.search], options: nodeOptions(k.nodeResolvConf) };
  else {
    const ns = pod.metadata.namespace ?? 'default';
    const d = k.clusterDomain;
    const searches = d === '' ? [...node.search] : omitDuplicates([`${ns}.svc.${d}`, `svc.${d}`, d, ...node.search]);
    cfg = { nameservers: [...k.clusterDNS], searches, options: ['ndots:5'] };
  }
  const dc = pod.spec.dnsConfig;
  if (dc) {
    cfg.nameservers = omitDuplicates([...cfg.nameservers, ...(dc.nameservers ?? [])]);
    cfg.searches = omitDuplicates([...cfg.searches, ...(dc.searches ?? [])]);
    const m = new Map<string, string>();
    for (const o of cfg.options) {
      const i = o.indexOf(':');
      if (i >= 0) m.set(o.slice(0, i), o.slice(i + 1));
      else m.set(o, '');
    }
    for (const o of dc.options ?? []) m.set(o.name, o.value ?? '');
    cfg.options = [...m.keys()].sort().map((n) => (m.get(n) ? `${n}:${m.get(n)}` : n));
  }
  cfg.nameservers = cfg.nameservers.slice(0, MAX_NAMESERVERS);
  const searches: string[] = [];
  let chars = 0;
  for (const s of cfg.searches) {
    if (s.length > 253) continue;
    if (searches.length >= MAX_SEARCH_PATHS || chars + s.length + (searches.length ? 1 : 0) > MAX_SEARCH_CHARS) break;
    chars += s.length + (searches.length ? 1 : 0);
    searches.push(s);
  }
  cfg.searches = searches;
  return cfg;
}

/**
 * The file the container runtime writes. containerd (CRI `parseDNSOptions`): search,
 * nameservers, options. dockershim / cri-dockerd (`rewriteResolvFile`): nameservers first,
 * which is what seed 000's cluster shows.
 */
export function renderResolvConf(c: PodDnsConfig, runtime: 'containerd' | 'docker' = 'containerd'): string {
  const ns = c.nameservers.map((s) => `nameserver ${s}`);
  const search = c.searches.length ? [`search ${c.searches.join(' ')}`] : [];
  const opts = c.options.length ? [`options ${c.options.join(' ')}`] : [];
  const lines = runtime === 'docker' ? [...ns, ...search, ...opts] : [...search, ...ns, ...opts];
  return lines.length ? `${lines.join('\n')}\n` : '';
}
