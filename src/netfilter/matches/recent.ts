import type { MatchModule, RecentEntry } from '../module.js';
import { param, parseUint } from '../module.js';
import { formatIpv4, parseIpv4 } from '../../wire/ipv4-address.js';

/**
 * libxt_recent rev 1 / xt_recent: named lists of source (or destination) addresses with
 * their last ip_pkt_list_tot (20) timestamps. kube-proxy's ClientIP affinity uses `--set` on
 * the DNAT rule and `--rcheck --seconds T --reap` in the service chain.
 */
const PKT_LIST_TOT = 20;
const NS_PER_S = 1_000_000_000;

interface RecentSpec {
  op: 'set' | 'rcheck' | 'update' | 'remove' | '';
  seconds: number;
  reap: boolean;
  hitcount: number;
  rttl: boolean;
  name: string;
  mask: number;
  dest: boolean;
  invert: boolean;
}

export const recentMatch: MatchModule<RecentSpec> = {
  name: 'recent',
  options: { set: false, rcheck: false, update: false, remove: false, seconds: true, reap: false, hitcount: true, rttl: false, name: true, mask: true, rsource: false, rdest: false },
  create: () => ({ op: '', seconds: 0, reap: false, hitcount: 0, rttl: false, name: 'DEFAULT', mask: 0xffffffff, dest: false, invert: false }),
  parse(s, opt, arg, inv) {
    switch (opt) {
      case 'set':
      case 'rcheck':
      case 'update':
      case 'remove':
        if (s.op !== '') param('recent: only one of `--set\', `--rcheck\' `--update\' or `--remove\' may be set');
        s.op = opt;
        s.invert = inv;
        return;
      case 'seconds': {
        const v = parseUint(arg, 0xffffffff);
        if (v === undefined) param('recent: bad value for option "--seconds"');
        s.seconds = v;
        return;
      }
      case 'hitcount': {
        const v = parseUint(arg, 0xffffffff);
        if (v === undefined) param('recent: bad value for option "--hitcount"');
        s.hitcount = v;
        return;
      }
      case 'reap':
        s.reap = true;
        return;
      case 'rttl':
        s.rttl = true;
        return;
      case 'name':
        if (arg.length > 199) param('recent: name too long');
        s.name = arg;
        return;
      case 'mask':
        try {
          s.mask = parseIpv4(arg);
        } catch {
          param(`recent: bad value for option "--mask"`);
        }
        return;
      case 'rsource':
        s.dest = false;
        return;
      case 'rdest':
        s.dest = true;
        return;
    }
  },
  final(s) {
    if (s.op === '') param('recent: you must specify one of `--set\', `--rcheck\' `--update\' or `--remove\'');
    if (s.reap && s.seconds === 0) param('recent: you must specify `--seconds\' with `--reap\'');
    if (s.hitcount > PKT_LIST_TOT) param(`recent: hitcount (${s.hitcount}) is larger than packets to be remembered (${PKT_LIST_TOT})`);
  },
  save(s) {
    let t = `${s.invert ? ' !' : ''} --${s.op}`;
    if (s.seconds) t += ` --seconds ${s.seconds}`;
    if (s.reap) t += ' --reap';
    if (s.hitcount) t += ` --hitcount ${s.hitcount}`;
    if (s.rttl) t += ' --rttl';
    t += ` --name ${s.name} --mask ${formatIpv4(s.mask)}`;
    t += s.dest ? ' --rdest' : ' --rsource';
    return t;
  },
  print(s) {
    let t = `${s.invert ? ' !' : ''} recent: ${s.op === 'rcheck' ? 'CHECK' : s.op.toUpperCase()}`;
    if (s.seconds) t += ` seconds: ${s.seconds}`;
    if (s.reap) t += ' reap';
    if (s.hitcount) t += ` hit_count: ${s.hitcount}`;
    if (s.rttl) t += ' TTL-Match';
    t += ` name: ${s.name} side: ${s.dest ? 'dest' : 'source'} mask: ${formatIpv4(s.mask)}`;
    return t;
  },
  compile(s, env) {
    const { op, seconds, reap, hitcount, rttl, name, mask, dest, invert } = s;
    return (c) => {
      let t = env.recent.get(name);
      if (!t) {
        t = new Map();
        env.recent.set(name, t);
      }
      const addr = ((dest ? c.ip.dst : c.ip.src) & mask) >>> 0;
      const now = c.state.netns.now();
      const ttl = c.ip.ttl;
      let e = t.get(addr);
      let ret = invert;
      const update = (en: RecentEntry): void => {
        en.stamps.push(now);
        if (en.stamps.length > PKT_LIST_TOT) en.stamps.shift();
        en.ttl = ttl;
      };
      if (op === 'set') {
        if (!e) {
          e = { stamps: [], ttl };
          t.set(addr, e);
        }
        update(e);
        return !ret;
      }
      if (!e) return ret;
      if (rttl && e.ttl !== ttl) return ret;
      if (op === 'remove') {
        t.delete(addr);
        return !ret;
      }
      if (seconds || hitcount) {
        const since = now - seconds * NS_PER_S;
        let hits = 0;
        for (const st of e.stamps) {
          if (seconds && st < since) continue;
          if (!hitcount || ++hits >= hitcount) {
            ret = !ret;
            break;
          }
        }
        if (reap) {
          e.stamps = e.stamps.filter((st) => st >= since);
          if (e.stamps.length === 0) t.delete(addr);
        }
      } else ret = !ret;
      if (op === 'update' && ret !== invert && t.has(addr)) update(e);
      return ret;
    };
  },
};
