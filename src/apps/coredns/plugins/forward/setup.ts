import { parseGoDuration } from '../../duration.js';
import type { PluginDef, SetupContext } from '../../plugin.js';
import { isIP } from '../../reverse.js';
import { normName, normalizeZones } from '../../zones.js';
import { fqdn } from '../../dns/message.js';
import { parseResolvConf } from '../../../resolver/resolvconf.js';
import { ForwardHandler, type ForwardConfig, type Policy, type Upstream } from './index.js';

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

/**
 * `forward FROM TO... { except NAMES...; force_tcp; prefer_udp; expire DUR; max_fails N;
 * policy random|round_robin|sequential; health_check DUR [no_rec] [domain FQDN];
 * max_concurrent N; max_connect_attempts N; next RCODE...; failfast_all_unhealthy_upstreams;
 * tls ...; tls_servername NAME }` (plugin/forward/setup.go). A TO that names a file of the
 * pod (`/etc/resolv.conf`) contributes its `nameserver` lines only.
 */
export const forwardPlugin: PluginDef = {
  name: 'forward',
  setup(c) {
    const d = c.d;
    const out: ForwardHandler[] = [];
    while (d.next()) out.push(parseStanza(c));
    return out;
  },
};

function parseStanza(c: SetupContext): ForwardHandler {
    const d = c.d;
    if (!d.nextArg()) throw d.argErr();
    const from = normName(d.val());
    const to = d.remainingArgs();
    if (to.length === 0) throw d.argErr();
    const upstreams: Upstream[] = [];
    for (const t of to) {
      const file = c.env.files[t];
      if (file !== undefined) {
        const rc = parseResolvConf(file);
        for (const ns of rc.nameservers) upstreams.push({ addr: ns, port: 53, fails: 0 });
        continue;
      }
      const m = /^(?:dns:\/\/)?(\[[^\]]+\]|[^:]+|[0-9a-fA-F:]+)(?::(\d+))?$/.exec(t);
      const host = m?.[1]?.replace(/^\[|\]$/g, '') ?? '';
      if (!m || !isIP(host)) {
        if (/^(tls|https|grpc):\/\//.test(t)) throw d.plain(`${t}: only dns:// upstreams are modelled by kubewire`);
        throw d.plain(`not an IP address or file: "${t}"`);
      }
      upstreams.push({ addr: host, port: m[2] ? Number(m[2]) : 53, fails: 0 });
    }
    if (upstreams.length > 15) throw d.plain(`more than 15 TOs configured: ${upstreams.length}`);
    const cfg: ForwardConfig = {
      from,
      except: [],
      upstreams,
      policy: 'random',
      forceTcp: false,
      preferUdp: false,
      maxFails: 2,
      expireSec: 10,
      maxConnectAttempts: 2 * upstreams.length,
      maxConcurrent: 0,
      healthCheckSec: 0.5,
      healthRecursion: true,
      healthDomain: '.',
      failfastAllUnhealthy: false,
      next: [],
    };
    const atoi = (s: string): number => {
      if (!/^[+-]?\d+$/.test(s)) throw d.plain(`strconv.Atoi: parsing "${s}": invalid syntax`);
      return Number(s);
    };
    while (d.nextBlock()) {
      const v = d.val();
      switch (v) {
        case 'except': {
          const a = d.remainingArgs();
          if (a.length === 0) throw d.argErr();
          cfg.except = normalizeZones(a);
          break;
        }
        case 'force_tcp':
          if (d.remainingArgs().length) throw d.argErr();
          cfg.forceTcp = true;
          break;
        case 'prefer_udp':
          if (d.remainingArgs().length) throw d.argErr();
          cfg.preferUdp = true;
          break;
        case 'max_fails': {
          const a = d.remainingArgs();
          if (a.length !== 1) throw d.argErr();
          const n = atoi(a[0]!);
          if (n < 0) throw d.plain("max_fails can't be negative: " + n);
          cfg.maxFails = n;
          break;
        }
        case 'expire': {
          const a = d.remainingArgs();
          if (a.length !== 1) throw d.argErr();
          const s = parseGoDuration(a[0]!);
          if (s === null) throw d.plain(`time: invalid duration "${a[0]}"`);
          if (s < 0) throw d.plain(`expire can't be negative: ${a[0]}`);
          cfg.expireSec = s;
          break;
        }
        case 'health_check': {
          const a = d.remainingArgs();
          if (a.length === 0) throw d.argErr();
          const s = parseGoDuration(a[0]!);
          if (s === null) throw d.plain(`time: invalid duration "${a[0]}"`);
          if (s < 0) throw d.plain(`health_check can't be negative: ${a[0]}`);
          cfg.healthCheckSec = s;
          for (let i = 1; i < a.length; i++) {
            if (a[i] === 'no_rec') {
              cfg.healthRecursion = false;
              continue;
            }
            if (a[i] === 'domain' && a[i + 1]) {
              cfg.healthDomain = fqdn(a[++i]!);
              continue;
            }
            throw d.plain(`health_check: unknown option ${a[i]}`);
          }
          break;
        }
        case 'policy': {
          const a = d.remainingArgs();
          if (a.length !== 1) throw d.argErr();
          if (a[0] !== 'random' && a[0] !== 'round_robin' && a[0] !== 'sequential') throw d.err(`unknown policy '${a[0]}'`);
          cfg.policy = a[0] as Policy;
          break;
        }
        case 'max_concurrent': {
          const a = d.remainingArgs();
          if (a.length !== 1) throw d.argErr();
          const n = atoi(a[0]!);
          if (n < 0) throw d.plain("max_concurrent can't be negative: " + n);
          cfg.maxConcurrent = n;
          break;
        }
        case 'max_connect_attempts': {
          const a = d.remainingArgs();
          if (a.length !== 1) throw d.argErr();
          const n = atoi(a[0]!);
          if (n < 0) throw d.plain("max_connect_attempts can't be negative: " + n);
          cfg.maxConnectAttempts = n;
          break;
        }
        case 'next': {
          const a = d.remainingArgs();
          if (a.length === 0) throw d.argErr();
          for (const x of a) {
            const rc = RCODES[x.toUpperCase()];
            if (rc === undefined) throw d.plain(`%s is not a valid rcode: ${x}`.replace('%s ', ''));
            cfg.next.push(rc);
          }
          break;
        }
        case 'failfast_all_unhealthy_upstreams':
          if (d.remainingArgs().length) throw d.argErr();
          cfg.failfastAllUnhealthy = true;
          break;
        case 'tls':
          if (d.remainingArgs().length > 3) throw d.argErr();
          break;
        case 'tls_servername':
          if (d.remainingArgs().length !== 1) throw d.argErr();
          break;
        default:
          throw d.err(`unknown property '${v}'`);
      }
    }
    return new ForwardHandler(cfg, c.env.net, c.env.eq, c.env.rng.fork(`coredns/forward/${from}`), c.env.metrics);
}
