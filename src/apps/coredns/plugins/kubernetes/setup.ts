import { Fall } from '../../fall.js';
import type { PluginDef } from '../../plugin.js';
import { KubeStore } from './store.js';
import { normalizeZones } from '../../zones.js';
import { KubeBackend, type KubeOptions } from './backend.js';
import { KubernetesHandler } from './index.js';

const IGNORED_WITH_ONE_ARG = new Set(['endpoint', 'kubeconfig', 'startup_timeout', 'labels', 'namespace_labels', 'multicluster', 'apiserver_qps', 'apiserver_burst', 'apiserver_max_inflight']);

/**
 * `kubernetes [ZONES...] { pods disabled|insecure|verified; ttl N; fallthrough [ZONES];
 * namespaces NS...; endpoint_pod_names; noendpoints; ignore empty_service; ... }`
 * (plugin/kubernetes/setup.go), with its error messages.
 */
export const kubernetesPlugin: PluginDef = {
  name: 'kubernetes',
  once: true,
  setup(c) {
    const d = c.d;
    const opt: KubeOptions = {
      zones: [],
      primaryZoneIndex: 0,
      ttl: 5,
      podMode: 'disabled',
      endpointPodNames: false,
      namespaces: new Set(),
      ignoreEmptyService: false,
      noEndpoints: false,
      localIPs: c.env.localIPs,
    };
    let fall = new Fall();
    while (d.next()) {
      const args = d.remainingArgs();
      opt.zones = args.length > 0 ? normalizeZones(args) : [...c.zones];
      while (d.nextBlock()) {
        const v = d.val();
        switch (v) {
          case 'endpoint_pod_names':
            if (d.remainingArgs().length) throw d.argErr();
            opt.endpointPodNames = true;
            break;
          case 'pods': {
            const a = d.remainingArgs();
            if (a.length !== 1) throw d.argErr();
            if (a[0] !== 'disabled' && a[0] !== 'insecure' && a[0] !== 'verified') {
              throw d.plain(`wrong value for pods: ${a[0]},  must be one of: disabled, verified, insecure`);
            }
            opt.podMode = a[0];
            break;
          }
          case 'namespaces': {
            const a = d.remainingArgs();
            if (a.length === 0) throw d.argErr();
            for (const n of a) opt.namespaces.add(n);
            break;
          }
          case 'ttl': {
            const a = d.remainingArgs();
            if (a.length === 0) throw d.argErr();
            if (!/^[+-]?\d+$/.test(a[0]!)) throw d.plain(`strconv.Atoi: parsing "${a[0]}": invalid syntax`);
            const t = Number(a[0]);
            if (t < 0 || t > 3600) throw d.err(`ttl must be in range [0, 3600]: ${t}`);
            opt.ttl = t;
            break;
          }
          case 'noendpoints':
            if (d.remainingArgs().length) throw d.argErr();
            opt.noEndpoints = true;
            break;
          case 'fallthrough':
            fall = Fall.fromArgs(d.remainingArgs());
            break;
          case 'ignore': {
            const a = d.remainingArgs();
            if (a.length === 0) throw d.argErr();
            if (a[0] !== 'empty_service') throw d.err(`unable to parse ignore value: '${a[0]}'`);
            opt.ignoreEmptyService = true;
            break;
          }
          case 'tls':
            if (d.remainingArgs().length !== 3) throw d.argErr();
            break;
          default:
            if (IGNORED_WITH_ONE_ARG.has(v)) {
              if (d.remainingArgs().length === 0) throw d.argErr();
              break;
            }
            throw d.err(`unknown property '${v}'`);
        }
      }
    }
    const idx = opt.zones.findIndex((z) => !/(in-addr|ip6)\.arpa\.$/.test(z));
    if (idx < 0) throw d.plain('non-reverse zone name must be used');
    opt.primaryZoneIndex = idx;
    const store = c.env.k8s ?? new KubeStore(() => c.env.epochSeconds + c.env.eq.now / 1e9);
    const backend = new KubeBackend(store, opt);
    c.readiness('kubernetes', () => store.synced);
    return new KubernetesHandler(backend, fall);
  },
};
