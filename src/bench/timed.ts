/**
 * Backends that time what kube-proxy hands to the kernel, so a sync splits into generating
 * (the proxier's own work) and applying (iptables-restore, ipset restore, IPVS netlink calls
 * into the models). The clock is the caller's (the CLI passes a monotonic one).
 */
import type { ActionLog } from '../k8s/cluster/actions.js';
import { NetfilterIptables } from '../k8s/cluster/iptables-backend.js';
import type { IpsetOp } from '../k8s/kube-proxy/ipset.js';
import type { IpsetBackend, IpvsBackend } from '../k8s/kube-proxy/ipvs.js';
import type { Netns } from '../linux/netlink.js';
import type { Netfilter } from '../netfilter/netfilter.js';

export interface ApplyTimes {
  iptablesNs: number;
  ipsetNs: number;
  ipvsNs: number;
  /** iptables-restore input bytes (UTF-8) of the sync's payload. */
  restoreBytes: number;
}

export class IptablesTimer extends NetfilterIptables {
  constructor(nf: Netfilter, ns: Netns, log: ActionLog, agent: string, private readonly times: ApplyTimes, private readonly now: () => number) {
    super(nf, ns, log, agent);
  }
  override restoreAll(text: string): void {
    const t0 = this.now();
    try {
      super.restoreAll(text);
    } finally {
      this.times.iptablesNs += this.now() - t0;
      this.times.restoreBytes += Buffer.byteLength(text, 'utf8');
    }
  }
}

export class IpsetBackendTimer implements IpsetBackend {
  constructor(private readonly inner: IpsetBackend, private readonly times: ApplyTimes, private readonly now: () => number) {}
  apply(ops: readonly IpsetOp[]): void {
    const t0 = this.now();
    try {
      this.inner.apply(ops);
    } finally {
      this.times.ipsetNs += this.now() - t0;
    }
  }
}

/** Every IpvsBackend call timed into `times.ipvsNs`. */
export function timedIpvs(inner: IpvsBackend, times: ApplyTimes, now: () => number): IpvsBackend {
  return new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const t0 = now();
        try {
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          times.ipvsNs += now() - t0;
        }
      };
    },
  });
}
