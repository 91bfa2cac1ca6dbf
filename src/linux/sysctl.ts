/**
 * The sysctls of one namespace that the model reads, with the kernel's defaults for a new
 * network namespace, and the all/default/<dev> semantics of net.ipv4.conf (devinet.c):
 * a new device copies `default`; writing `all.forwarding` or `ip_forward` sets every device;
 * the datapath combines `all` and the device as the kernel's IN_DEV_* macros do.
 */
import { SysctlError } from './errors.js';
import type { DevConf } from './link/device.js';

const CONF_KEYS: readonly (keyof DevConf)[] = [
  'forwarding',
  'rp_filter',
  'proxy_arp',
  'arp_ignore',
  'arp_announce',
  'route_localnet',
  'accept_local',
  'send_redirects',
  'arp_notify',
];

function defaultConf(): DevConf {
  return {
    forwarding: 0,
    rp_filter: 0,
    proxy_arp: 0,
    arp_ignore: 0,
    arp_announce: 0,
    route_localnet: 0,
    accept_local: 0,
    send_redirects: 1,
    arp_notify: 0,
    proxy_delay: 80,
  };
}

export interface NeighParms {
  base_reachable_time_ms: number;
  delay_first_probe_time: number;
  retrans_time_ms: number;
  mcast_solicit: number;
  ucast_solicit: number;
  unres_qlen: number;
  gc_stale_time: number;
}

export class Sysctl {
  ipForward = 0;
  defaultTtl = 64;
  localPortLow = 32768;
  localPortHigh = 60999;
  ipNonlocalBind = 0;
  /** net.bridge.bridge-nf-call-iptables: only exists once br_netfilter is loaded; 0 = not loaded. */
  bridgeNfCallIptables = 0;
  readonly all: DevConf = defaultConf();
  readonly dflt: DevConf = defaultConf();
  readonly neigh: NeighParms = {
    base_reachable_time_ms: 30000,
    delay_first_probe_time: 5,
    retrans_time_ms: 1000,
    mcast_solicit: 3,
    ucast_solicit: 3,
    unres_qlen: 101,
    gc_stale_time: 60,
  };
  /** Devices by name, for net.ipv4.conf.<dev>. Kept by Netns. */
  devices: () => Iterable<{ name: string; conf: DevConf }> = () => [];

  newDevConf(): DevConf {
    return { ...this.dflt };
  }

  /** Reads a sysctl as `sysctl -n` prints it; undefined if the key does not exist. */
  get(key: string): string | undefined {
    const k = key.replace(/\//g, '.');
    switch (k) {
      case 'net.ipv4.ip_forward':
        return String(this.ipForward);
      case 'net.ipv4.ip_default_ttl':
        return String(this.defaultTtl);
      case 'net.ipv4.ip_local_port_range':
        return `${this.localPortLow}\t${this.localPortHigh}`;
      case 'net.ipv4.ip_nonlocal_bind':
        return String(this.ipNonlocalBind);
      case 'net.bridge.bridge-nf-call-iptables':
        return String(this.bridgeNfCallIptables);
    }
    const conf = this.confFor(key);
    if (conf) return String(conf.c[conf.key]);
    const m = /^net\.ipv4\.neigh\.default\.(\w+)$/.exec(k);
    if (m && m[1]! in this.neigh) return String(this.neigh[m[1] as keyof NeighParms]);
    return undefined;
  }

  /** Writes a sysctl as `sysctl -w key=value`; throws a clear error on an unknown key or bad value. */
  set(key: string, value: string): void {
    const v = value.trim();
    const num = (): number => {
      if (!/^-?\d+$/.test(v)) throw new SysctlError(`sysctl: setting key "${key}": Invalid argument`);
      return Number(v);
    };
    const k = key.replace(/\//g, '.');
    switch (k) {
      case 'net.ipv4.ip_forward': {
        const n = num() ? 1 : 0;
        this.ipForward = n;
        // devinet_sysctl_forward: ip_forward sets all.forwarding, default and every device.
        this.all.forwarding = n;
        this.dflt.forwarding = n;
        for (const d of this.devices()) d.conf.forwarding = n;
        return;
      }
      case 'net.ipv4.ip_default_ttl':
        this.defaultTtl = num();
        return;
      case 'net.ipv4.ip_nonlocal_bind':
        this.ipNonlocalBind = num();
        return;
      case 'net.ipv4.ip_local_port_range': {
        const parts = v.split(/\s+/).map(Number);
        if (parts.length !== 2 || parts.some((x) => !Number.isInteger(x)) || parts[0]! > parts[1]!) {
          throw new SysctlError(`sysctl: setting key "${key}": Invalid argument`);
        }
        this.localPortLow = parts[0]!;
        this.localPortHigh = parts[1]!;
        return;
      }
      case 'net.bridge.bridge-nf-call-iptables':
        this.bridgeNfCallIptables = num() ? 1 : 0;
        return;
    }
    const conf = this.confFor(key);
    if (conf) {
      const n = num();
      conf.c[conf.key] = n;
      if (conf.key === 'forwarding' && conf.c === this.all) {
        this.ipForward = n ? 1 : 0;
        this.dflt.forwarding = n;
        for (const d of this.devices()) d.conf.forwarding = n;
      }
      return;
    }
    const m = /^net\.ipv4\.neigh\.default\.(\w+)$/.exec(k);
    if (m && m[1]! in this.neigh) {
      this.neigh[m[1] as keyof NeighParms] = num();
      return;
    }
    throw new SysctlError(`sysctl: cannot stat /proc/sys/${key.replace(/\./g, '/')}: No such file or directory`);
  }

  /** `sysctl KEY` output line: `net.ipv4.ip_forward = 1` (tabs kept, as procps prints). */
  line(key: string): string {
    const v = this.get(key);
    if (v === undefined) throw new SysctlError(`sysctl: cannot stat /proc/sys/${key.replace(/\./g, '/')}: No such file or directory`);
    return `${key} = ${v}`;
  }

  private confFor(key: string): { c: DevConf; key: keyof DevConf } | undefined {
    // Device names may contain dots; sysctl(8) writes them as '/': net.ipv4.conf.flannel/1.rp_filter.
    let m = /^net\.ipv4\.conf\.(.+)\.(\w+)$/.exec(key);
    let proxyDelay = false;
    if (!m) {
      m = /^net\.ipv4\.neigh\.(.+)\.(proxy_delay)$/.exec(key);
      proxyDelay = true;
    }
    if (!m) return undefined;
    const dev = m[1]!.replace(/\//g, '.');
    const field = m[2]! as keyof DevConf;
    if (proxyDelay ? field !== 'proxy_delay' : !CONF_KEYS.includes(field)) return undefined;
    if (dev === 'all') return { c: this.all, key: field };
    if (dev === 'default') return { c: this.dflt, key: field };
    for (const d of this.devices()) if (d.name === dev) return { c: d.conf, key: field };
    return undefined;
  }
}
