import type { Pod } from '../api/types.js';

/** The parts of a resolv.conf kubelet works with. */
export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

export function parseResolvConf(text: string): ResolvConf {
  const rc: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) rc.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') rc.searches = rest; // the last one wins, as glibc
    else if (key === 'options') for (const o of rest) {
      const i = o.indexOf(':');
      rc.options.push(i < 0 ? { name: o } : { name: o.slice(0, i), value: o.slice(i + 1) });
    }
  }
  return rc;
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;

/**
 * What kubelet puts in a pod's /etc/resolv.conf for its dnsPolicy (pkg/kubelet/network/dns):
 * ClusterFirst -> the cluster DNS, `<ns>.svc.<d> svc.<d> <d>` + the node's search list,
 * `ndots:5`; hostNetwork with ClusterFirst falls back to Default (the node's file); None
 * starts empty; dnsConfig is merged on top.
 */
export function podResolvConf(pod: Pod, clusterDNS: string, clusterDomain: string, node: ResolvConf): ResolvConf {
  let policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && pod.spec.hostNetwork) policy = 'Default';
  let rc: ResolvConf;
  const ns = pod.metadata.namespace ?? 'default';
  switch (policy) {
    case 'ClusterFirst':
    case 'ClusterFirstWithHostNet':
      rc = {
        nameservers: [clusterDNS],
        searches: dedupe([`${ns}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain, ...node.searches]),
        options: [{ name: 'ndots', value: '5' }],
      };
      break;
    case 'Default':
      rc = structuredClone(node);
      break;
    case 'None':
      rc = { nameservers: [], searches: [], options: [] };
      break;
  }
  const cfg = pod.spec.dnsConfig;
  if (cfg) {
    rc.nameservers = dedupe([...rc.nameservers, ...(cfg.nameservers ?? [])]);
    rc.searches = dedupe([...rc.searches, ...(cfg.searches ?? [])]);
    for (const o of cfg.options ?? []) {
      const i = rc.options.findIndex((x) => x.name === o.name);
      const v = o.value !== undefined ? { name: o.name, value: o.value } : { name: o.name };
      if (i >= 0) rc.options[i] = v;
      else rc.options.push(v);
    }
  }
  rc.nameservers = rc.nameservers.slice(0, MAX_NAMESERVERS);
  const kept: string[] = [];
  let chars = 0;
  for (const s of rc.searches) {
    if (s.length > 253 || kept.length >= MAX_SEARCHES || chars + s.length + (kept.length ? 1 : 0) > MAX_SEARCH_CHARS) continue;
    chars += s.length + (kept.length ? 1 : 0);
    kept.push(s);
  }
  rc.searches = kept;
  return rc;
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs.filter((x) => x !== ''))];
}

/**
 * The file text as the container runtime writes it: dockershim writes nameservers first
 * (the seed's cluster), containerd/CRI-O write the search line first.
 */
export function formatResolvConf(rc: ResolvConf, runtime: 'docker' | 'containerd'): string {
  const ns = rc.nameservers.map((n) => `nameserver ${n}\n`).join('');
  const search = rc.searches.length ? `search ${rc.searches.join(' ')}\n` : '';
  const opts = rc.options.length ? `options ${rc.options.map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)).join(' ')}\n` : '';
  return runtime === 'docker' ? ns + search + opts : search + ns + opts;
}
