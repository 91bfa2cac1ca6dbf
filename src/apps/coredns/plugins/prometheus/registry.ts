/**
 * Counters and gauges with labels, printed in the Prometheus text exposition format as
 * client_golang writes it: `# HELP`, `# TYPE`, then one sample per label set with the
 * labels sorted by name, families sorted by name.
 */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: readonly string[];
  readonly values: Map<string, { labels: string[]; value: number }>;
}

export class Registry {
  private families = new Map<string, Family>();

  family(name: string, type: 'counter' | 'gauge', help: string, labels: readonly string[]): boolean {
    if (this.families.has(name)) return false;
    this.families.set(name, { name, help, type, labels, values: new Map() });
    return true;
  }

  add(name: string, labelValues: readonly string[], delta = 1): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`metric ${name} not registered`);
    const key = labelValues.join('\u0000');
    const v = f.values.get(key);
    if (v) v.value += delta;
    else f.values.set(key, { labels: [...labelValues], value: delta });
  }

  set(name: string, labelValues: readonly string[], value: number): void {
    this.add(name, labelValues, 0);
    const f = this.families.get(name)!;
    f.values.get(labelValues.join('\u0000'))!.value = value;
  }

  get(name: string, labelValues: readonly string[]): number {
    return this.families.get(name)?.values.get(labelValues.join('\u0000'))?.value ?? 0;
  }

  /** The `/metrics` body. */
  expose(): string {
    const lines: string[] = [];
    for (const f of [...this.families.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (f.values.size === 0) continue;
      lines.push(`# HELP ${f.name} ${f.help}`);
      lines.push(`# TYPE ${f.name} ${f.type}`);
      const order = f.labels.map((l, i) => [l, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const samples = [...f.values.values()].map((v) => {
        const ls = order.map(([l, i]) => `${l}="${escapeLabel(v.labels[i] ?? '')}"`).join(',');
        return `${f.name}${ls ? `{${ls}}` : ''} ${formatValue(v.value)}`;
      });
      samples.sort();
      lines.push(...samples);
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(v);
}

/** The CoreDNS metric families kubewire counts (names, help and labels as CoreDNS 1.14). */
export function registerCoreMetrics(r: Registry): void {
  r.family('coredns_dns_requests_total', 'counter', 'Counter of DNS requests made per zone, protocol and family.', [
    'server',
    'zone',
    'view',
    'proto',
    'family',
    'type',
  ]);
  r.family('coredns_dns_do_requests_total', 'counter', 'Counter of DNS requests with DO bit set per zone.', ['server', 'zone', 'view']);
  r.family('coredns_dns_responses_total', 'counter', 'Counter of response status codes.', ['server', 'zone', 'view', 'rcode', 'plugin']);
  r.family('coredns_cache_requests_total', 'counter', 'The count of cache requests.', ['server', 'zones', 'view']);
  r.family('coredns_cache_hits_total', 'counter', 'The count of cache hits.', ['server', 'type', 'zones', 'view']);
  r.family('coredns_cache_misses_total', 'counter', 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', [
    'server',
    'zones',
    'view',
  ]);
  r.family('coredns_cache_prefetch_total', 'counter', 'The number of times the cache has prefetched a cached item.', ['server', 'zones', 'view']);
  r.family('coredns_cache_entries', 'gauge', 'The number of elements in the cache.', ['server', 'type', 'zones', 'view']);
  r.family('coredns_proxy_healthcheck_failures_total', 'counter', 'Counter of the number of failed healthchecks.', ['proxy_name', 'to']);
  // Plain (label-less) counters exist from process start with the value 0, as promauto registers them.
  if (r.family('coredns_forward_healthcheck_broken_total', 'counter', 'Counter of the number of complete failures of the healthchecks.', [])) r.set('coredns_forward_healthcheck_broken_total', [], 0);
  if (r.family('coredns_forward_max_concurrent_rejects_total', 'counter', 'Counter of the number of queries rejected because the concurrent queries were at maximum.', [])) {
    r.set('coredns_forward_max_concurrent_rejects_total', [], 0);
  }
  r.family('coredns_hosts_entries', 'gauge', 'The combined number of entries in hosts and Corefile.', ['hostsfile']);
  r.family('coredns_plugin_enabled', 'gauge', 'A metric that indicates whether a plugin is enabled on per server and zone basis.', ['server', 'zone', 'view', 'name']);
  r.family('coredns_build_info', 'gauge', 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', [
    'version',
    'revision',
    'goversion',
  ]);
  if (r.family('coredns_panics_total', 'counter', 'A metrics that counts the number of panics.', [])) r.set('coredns_panics_total', [], 0);
}
