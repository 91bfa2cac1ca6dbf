import { IpvsError } from '../errors.js';
import type { Ipvs } from '../ipvs.js';
import { applyCommand, ipvsadmRestore, IpvsadmParseError, parseCommand } from './parse.js';
import { ipvsadmList, ipvsadmListConn, ipvsadmListService, ipvsadmSave, ipvsadmTimeout, type ListOptions } from './print.js';

/** What one `ipvsadm` run printed and its exit status (fail() exits 2; kernel refusals 255). */
export interface IpvsadmResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

/**
 * `ipvsadm ARGS` against the model: -L/-l (with -n, -c, --stats, --rate, --thresholds,
 * --persistent-conn, --exact, --nosort, --timeout, a service), -S [-n], -R (input from
 * `stdin`, applied atomically), and the table commands -A -E -D -a -e -d -C -Z --set.
 */
export function runIpvsadm(ipvs: Ipvs, args: readonly string[], opts: { stdin?: string; makeScratch?: () => Ipvs } = {}): IpvsadmResult {
  const flags = expand(args);
  const has = (...names: string[]) => names.some((n) => flags.includes(n));
  try {
    if (has('L', 'l', 'list')) {
      const o: ListOptions = {
        numeric: has('n', 'numeric'), stats: has('stats'), rate: has('rate'), thresholds: has('thresholds'),
        persistentConn: has('persistent-conn'), exact: has('X', 'exact'), nosort: has('nosort'),
      };
      if ((has('c', 'connection', 'timeout', 'daemon') && (o.stats || o.rate || o.thresholds)) || (has('timeout', 'daemon') && o.persistentConn)) {
        return fail('options conflicts in the list command');
      }
      if (has('c', 'connection')) return ok(ipvsadmListConn(ipvs, { numeric: o.numeric ?? false, persistentConn: o.persistentConn ?? false }));
      const svcArg = serviceArgs(args);
      if (svcArg) {
        const c = parseCommand(['-Z', ...svcArg]);
        const svc = c.cmd === 'zero' && c.key ? ipvs.getService(c.key) : undefined;
        if (!svc) return { stdout: '', stderr: 'No such service\n', status: 1 };
        return ok(ipvsadmListService(ipvs, svc, o));
      }
      if (has('timeout')) return ok(ipvsadmTimeout(ipvs));
      if (has('daemon')) return ok('');
      return ok(ipvsadmList(ipvs, o));
    }
    if (has('S', 'save')) return ok(ipvsadmSave(ipvs, { numeric: has('n', 'numeric') }));
    if (has('R', 'restore')) {
      const scratch = opts.makeScratch;
      if (!scratch) throw new Error('runIpvsadm -R needs makeScratch');
      ipvsadmRestore(ipvs, opts.stdin ?? '', scratch);
      return ok('');
    }
    applyCommand(ipvs, parseCommand(args.filter((a) => a !== 'ipvsadm')));
    return ok('');
  } catch (e) {
    if (e instanceof IpvsadmParseError) return fail(e.reason, e.line);
    if (e instanceof IpvsError) return { stdout: '', stderr: `${e.message}\n`, status: 255 };
    throw e;
  }
}

function ok(stdout: string): IpvsadmResult {
  return { stdout, stderr: '', status: 0 };
}

function fail(msg: string, _line?: number): IpvsadmResult {
  return { stdout: '', stderr: `${msg}\n`, status: 2 };
}

/** Option names present: "-Lnc" gives L, n, c; "--stats" gives stats. */
function expand(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a.startsWith('--')) out.push(a.slice(2).split('=')[0]!);
    else if (a.startsWith('-')) {
      for (const ch of a.slice(1)) {
        out.push(ch);
        if ('tuf'.includes(ch)) break; // the rest is the service address
      }
    }
  }
  return out;
}

/** The -t/-u/-f/--sctp-service option and its value, if a list names one service. */
function serviceArgs(args: readonly string[]): string[] | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^-[A-Za-z]*([tuf])(.*)$/.exec(a);
    if (m && !a.startsWith('--')) return m[2] ? [`-${m[1]}${m[2]}`] : [`-${m[1]}`, args[i + 1] ?? ''];
    if (/^--(tcp|udp|sctp|fwmark)-service/.test(a)) return a.includes('=') ? [a] : [a, args[i + 1] ?? ''];
  }
  return undefined;
}
