import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import {
  IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3, IP_VS_SVC_F_SCHED_MASK, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
  IPVS_SVC_PERSISTENT_TIMEOUT,
} from '../constants.js';
import type { DestSpec } from '../dest.js';
import { IpvsError } from '../errors.js';
import type { Ipvs } from '../ipvs.js';
import type { ServiceKey, ServiceSpec } from '../service.js';
import { SERVICES_BY_NAME } from './services.js';

/**
 * `ipvsadm` command lines as ipvsadm 1.31's parse_options / process_options read them, for
 * `ipvsadm -R` / `ipvsadm-restore` input (what `ipvsadm -Sn` prints) and single commands.
 * Defaults as ipvsadm's: scheduler wlc, weight 1, forwarding -g (direct routing),
 * persistence 300 s, netmask 255.255.255.255.
 */
export type IpvsadmCommand =
  | { readonly cmd: 'add-service' | 'edit-service'; readonly svc: ServiceSpec }
  | { readonly cmd: 'delete-service'; readonly key: ServiceKey }
  | { readonly cmd: 'add-server' | 'edit-server'; readonly key: ServiceKey; readonly dest: DestSpec }
  | { readonly cmd: 'delete-server'; readonly key: ServiceKey; readonly addr: Ipv4Addr; readonly port: number }
  | { readonly cmd: 'flush' }
  | { readonly cmd: 'zero'; readonly key: ServiceKey | null }
  | { readonly cmd: 'set'; readonly tcp: number; readonly tcpfin: number; readonly udp: number };

/** A line that ipvsadm would refuse; `line` is 1-based, the message is ipvsadm's. */
export class IpvsadmParseError extends Error {
  override readonly name = 'IpvsadmParseError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`ipvsadm: line ${line}: ${reason}`);
  }
}

type Cmd = IpvsadmCommand['cmd'];
const CMDS: Readonly<Record<string, Cmd>> = {
  A: 'add-service', 'add-service': 'add-service', E: 'edit-service', 'edit-service': 'edit-service',
  D: 'delete-service', 'delete-service': 'delete-service', a: 'add-server', 'add-server': 'add-server',
  e: 'edit-server', 'edit-server': 'edit-server', d: 'delete-server', 'delete-server': 'delete-server',
  C: 'flush', clear: 'flush', Z: 'zero', zero: 'zero', set: 'set',
};

// Option names as ipvsadm's optnames[] (used in its error messages).
const OPT = {
  service: 'service-address', scheduler: 'scheduler', persistent: 'persistent', netmask: 'netmask',
  server: 'real-server', forward: 'forwarding-method', weight: 'weight', uthreshold: 'u-threshold',
  lthreshold: 'l-threshold', ops: 'ops', pe: 'pe', schedFlags: 'sched-flags',
} as const;
type OptName = (typeof OPT)[keyof typeof OPT];

/** commands_v_options: '+' compulsory, 'x' illegal, ' ' optional (for the options modelled). */
const ALLOWED: Readonly<Record<Cmd, Readonly<Partial<Record<OptName, '+' | ' '>>>>> = {
  'add-service': { 'service-address': '+', scheduler: ' ', persistent: ' ', netmask: ' ', ops: ' ', pe: ' ', 'sched-flags': ' ' },
  'edit-service': { 'service-address': '+', scheduler: ' ', persistent: ' ', netmask: ' ', ops: ' ', pe: ' ', 'sched-flags': ' ' },
  'delete-service': { 'service-address': '+' },
  flush: {},
  'add-server': { 'service-address': '+', 'real-server': '+', 'forwarding-method': ' ', weight: ' ', 'u-threshold': ' ', 'l-threshold': ' ' },
  'edit-server': { 'service-address': '+', 'real-server': '+', 'forwarding-method': ' ', weight: ' ', 'u-threshold': ' ', 'l-threshold': ' ' },
  'delete-server': { 'service-address': '+', 'real-server': '+' },
  zero: { 'service-address': ' ' },
  set: {},
};

/** Long option name -> short letter (or the long name itself when it has none). */
const LONG: Readonly<Record<string, string>> = {
  'tcp-service': 't', 'udp-service': 'u', 'sctp-service': 'sctp-service', 'fwmark-service': 'f', scheduler: 's',
  persistent: 'p', netmask: 'M', 'real-server': 'r', masquerading: 'm', ipip: 'i', gatewaying: 'g', weight: 'w',
  'u-threshold': 'x', 'l-threshold': 'y', ops: 'o', pe: 'pe', 'sched-flags': 'b', numeric: 'n', 'tun-type': 'tun-type',
};
const TAKES_ARG = new Set(['t', 'u', 'sctp-service', 'f', 's', 'M', 'r', 'w', 'x', 'y', 'pe', 'b', 'tun-type']);

/** Splits a restore stream into lines of tokens (config_stream_read): whitespace separated, `ipvsadm` tokens dropped, `#` starts a comment. */
export function tokenizeLine(text: string): string[] {
  const hash = text.indexOf('#');
  const body = hash >= 0 ? text.slice(0, hash) : text;
  return body.split(/[ \t\r]+/).filter((t) => t !== '' && t !== 'ipvsadm');
}

/** Parses one command's arguments (without the program name). Throws IpvsadmParseError with `line`. */
export function parseCommand(args: readonly string[], line = 1): IpvsadmCommand {
  const fail = (m: string): never => {
    throw new IpvsadmParseError(line, m);
  };
  // Expand "-tADDR", "--x=y" and grouped flags into (name, value) pairs, popt style.
  const opts: { name: string; value: string | undefined }[] = [];
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const long = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const short = CMDS[long] && !LONG[long] ? long : LONG[long];
      if (!short) fail(`invalid option \`${a}'`);
      const name = short!;
      if (TAKES_ARG.has(name)) {
        const v = eq >= 0 ? a.slice(eq + 1) : args[++i];
        if (v === undefined) fail(`option \`${a}' requires an argument`);
        opts.push({ name, value: v });
      } else if (name === 'p') {
        const next = args[i + 1];
        opts.push({ name, value: eq >= 0 ? a.slice(eq + 1) : next !== undefined && !next.startsWith('-') ? args[++i] : undefined });
      } else opts.push({ name, value: undefined });
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if (TAKES_ARG.has(c)) {
          const rest = a.slice(j + 1);
          const v = rest !== '' ? rest : args[++i];
          if (v === undefined) fail(`option \`-${c}' requires an argument`);
          opts.push({ name: c, value: v });
          break;
        }
        if (c === 'p') {
          const rest = a.slice(j + 1);
          const next = args[i + 1];
          opts.push({ name: 'p', value: rest !== '' ? rest : next !== undefined && !next.startsWith('-') ? args[++i] : undefined });
          break;
        }
        opts.push({ name: c, value: undefined });
      }
    } else positional.push(a);
  }

  const first = opts[0];
  const cmd = first ? CMDS[first.name] : undefined;
  if (!first || !cmd) fail('no command specified');
  const seen = new Set<OptName>();
  const set = (o: OptName): void => {
    if (seen.has(o)) fail(`multiple '${o}' options specified`);
    seen.add(o);
  };

  let protocol = IPPROTO_TCP;
  let vaddr = 0 as Ipv4Addr;
  let vport = 0;
  let fwmark = 0;
  let sched = '';
  let flags = 0;
  let timeout = 0;
  let netmask = 0xffffffff;
  let pe = '';
  let schedFlagsArg = '';
  let raddr = 0 as Ipv4Addr;
  let rport = 0;
  let rportGiven = false;
  let fwd = IP_VS_CONN_F_DROUTE;
  let weight = 1;
  let uThreshold = 0;
  let lThreshold = 0;
  for (const o of opts.slice(1)) {
    const v = o.value ?? '';
    switch (o.name) {
      case 't':
      case 'u':
      case 'sctp-service': {
        set(OPT.service);
        protocol = o.name === 't' ? IPPROTO_TCP : o.name === 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
        const s = parseServiceAddr(v, protocol);
        if (!s) fail('illegal virtual server address[:port] specified');
        vaddr = s!.addr;
        vport = s!.port ?? 0;
        break;
      }
      case 'f':
        set(OPT.service);
        if (!/^[0-9]+$/.test(v) || Number(v) <= 0 || Number(v) > 0xffffffff) fail(`invalid fwmark value \`${v}' specified`);
        fwmark = Number(v);
        protocol = IPPROTO_TCP;
        break;
      case 's':
        set(OPT.scheduler);
        sched = v.slice(0, 15);
        break;
      case 'p':
        set(OPT.persistent);
        flags |= IP_VS_SVC_F_PERSISTENT;
        if (o.value === undefined) timeout = IPVS_SVC_PERSISTENT_TIMEOUT;
        else {
          const n = stringToNumber(v, 1, 31 * 24 * 60 * 60);
          if (n < 0) fail(`invalid timeout value \`${v}' specified`);
          timeout = n;
        }
        break;
      case 'M': {
        set(OPT.netmask);
        const m = inetAton(v);
        if (m === undefined) fail('illegal virtual server persistent mask specified');
        netmask = m!;
        break;
      }
      case 'r': {
        set(OPT.server);
        const s = parseServiceAddr(v, protocol);
        if (!s) fail('illegal real server address[:port] specified');
        raddr = s!.addr;
        rportGiven = s!.port !== undefined;
        rport = s!.port ?? 0;
        break;
      }
      case 'g':
      case 'i':
      case 'm':
        set(OPT.forward);
        fwd = o.name === 'g' ? IP_VS_CONN_F_DROUTE : o.name === 'i' ? IP_VS_CONN_F_TUNNEL : IP_VS_CONN_F_MASQ;
        break;
      case 'w':
        set(OPT.weight);
        weight = stringToNumber(v, 0, 65535);
        if (weight < 0) fail('illegal weight specified');
        break;
      case 'x':
        set(OPT.uthreshold);
        uThreshold = stringToNumber(v, 0, 2147483647);
        if (uThreshold < 0) fail('illegal u_threshold specified');
        break;
      case 'y':
        set(OPT.lthreshold);
        lThreshold = stringToNumber(v, 0, 2147483647);
        if (lThreshold < 0) fail('illegal l_threshold specified');
        break;
      case 'o':
        set(OPT.ops);
        flags |= IP_VS_SVC_F_ONEPACKET;
        break;
      case 'pe':
        set(OPT.pe);
        pe = v;
        break;
      case 'b':
        set(OPT.schedFlags);
        schedFlagsArg = v;
        break;
      case 'n':
        break;
      case 'tun-type':
        if (v !== 'ipip') fail('illegal tunnel type specified');
        break;
      default:
        if (CMDS[o.name]) fail('multiple commands specified');
        fail(`invalid option \`${o.name.length === 1 ? '-' : '--'}${o.name}'`);
    }
  }

  const c = cmd!;
  let tcp = 0;
  let tcpfin = 0;
  let udp = 0;
  if (c === 'set') {
    if (positional.length < 3) fail('--set option requires 3 timeout values');
    const t = positional.slice(0, 3).map((p) => stringToNumber(p, 0, 31 * 24 * 60 * 60));
    t.forEach((n, k) => n < 0 && fail(`invalid timeout value \`${positional[k]}' specified`));
    [tcp, tcpfin, udp] = t as [number, number, number];
    positional.splice(0, 3);
  }
  if (positional.length) fail(`unexpected argument ${positional[0]}`);
  if (schedFlagsArg) {
    flags &= ~IP_VS_SVC_F_SCHED_MASK;
    flags |= parseSchedFlags(sched || 'wlc', schedFlagsArg, fail);
  }

  // generic_opt_check
  const allowed = ALLOWED[c];
  for (const o of Object.values(OPT)) {
    if (!seen.has(o) && allowed[o] === '+') fail(`You need to supply the '${o}' option for the '${c}' command`);
    if (seen.has(o) && allowed[o] === undefined) fail(`Illegal '${o}' option with the '${c}' command`);
  }

  const key: ServiceKey = fwmark ? { fwmark, protocol } : { protocol, addr: vaddr, port: vport };
  switch (c) {
    case 'add-service':
    case 'edit-service':
      if (!fwmark && !vport && !(flags & IP_VS_SVC_F_PERSISTENT)) fail('Zero port specified for non-persistent service');
      if (flags & IP_VS_SVC_F_ONEPACKET && !fwmark && protocol !== IPPROTO_UDP) fail('One-Packet Scheduling is only for UDP virtual services');
      return {
        cmd: c,
        svc: {
          protocol, addr: vaddr, port: vport, ...(fwmark ? { fwmark } : {}), scheduler: sched || 'wlc', flags, timeout,
          netmask, ...(pe ? { pe } : {}),
        },
      };
    case 'delete-service':
      return { cmd: c, key };
    case 'add-server':
    case 'edit-server':
    case 'delete-server': {
      // Copy vport to dport when the server has no port; DR and tunnels must use the service port.
      if (!rportGiven) rport = vport;
      if (c !== 'delete-server' && !fwmark && (fwd === IP_VS_CONN_F_TUNNEL || fwd === IP_VS_CONN_F_DROUTE)) rport = vport;
      if (c === 'delete-server') return { cmd: c, key, addr: raddr, port: rport };
      return { cmd: c, key, dest: { addr: raddr, port: rport, fwd, weight, uThreshold, lThreshold } };
    }
    case 'flush':
      return { cmd: c };
    case 'zero':
      return { cmd: c, key: seen.has(OPT.service) ? key : null };
    case 'set':
      return { cmd: c, tcp, tcpfin, udp };
  }
}

/** Parses `ipvsadm -R` input: one command per line; blank lines skipped. */
export function parseRestore(text: string): IpvsadmCommand[] {
  const out: IpvsadmCommand[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const toks = tokenizeLine(lines[i]!);
    if (toks.length === 0) continue;
    out.push(parseCommand(toks, i + 1));
  }
  return out;
}

/** Applies one command to the model. Kernel refusals throw IpvsError. */
export function applyCommand(ipvs: Ipvs, c: IpvsadmCommand): void {
  switch (c.cmd) {
    case 'add-service':
      ipvs.addService(c.svc);
      return;
    case 'edit-service':
      ipvs.editService(c.svc);
      return;
    case 'delete-service':
      ipvs.delService(c.key);
      return;
    case 'add-server':
      ipvs.addDest(c.key, c.dest);
      return;
    case 'edit-server':
      ipvs.editDest(c.key, c.dest);
      return;
    case 'delete-server':
      ipvs.delDest(c.key, c.addr, c.port);
      return;
    case 'flush':
      ipvs.flush();
      return;
    case 'zero':
      ipvs.zero(c.key ?? undefined);
      return;
    case 'set':
      ipvs.setTimeout(c.tcp, c.tcpfin, c.udp);
      return;
  }
}

/**
 * `ipvsadm-restore` / `ipvsadm -R`: parses everything first, then applies it to a scratch
 * model; only when every line succeeded is the real model changed (ipvsadm itself stops at
 * the first failing line with the earlier ones applied; here a bad input changes nothing).
 * `makeScratch` builds an empty model with the same clock to rehearse on.
 */
export function ipvsadmRestore(ipvs: Ipvs, text: string, makeScratch: () => Ipvs): void {
  const cmds = parseRestore(text);
  const lines = text.split('\n');
  const lineOf: number[] = [];
  lines.forEach((l, i) => tokenizeLine(l).length && lineOf.push(i + 1));
  // Rehearse on a copy of the current table.
  const scratch = makeScratch();
  for (const svc of ipvs.services()) {
    scratch.addService({ protocol: svc.protocol, addr: svc.addr, port: svc.port, fwmark: svc.fwmark, scheduler: svc.schedName, flags: svc.flags & ~0x0002, timeout: svc.timeoutSeconds, netmask: svc.netmask, pe: svc.pe });
    for (const d of svc.dests.slice().reverse()) {
      scratch.addDest(svc, { addr: d.addr, port: d.port, fwd: d.fwd, weight: d.weight, uThreshold: d.uThreshold, lThreshold: d.lThreshold });
    }
  }
  cmds.forEach((c, k) => {
    try {
      applyCommand(scratch, c);
    } catch (e) {
      if (e instanceof IpvsError) throw new IpvsadmParseError(lineOf[k] ?? 0, e.message);
      throw e;
    }
  });
  for (const c of cmds) applyCommand(ipvs, c);
}

function parseSchedFlags(sched: string, arg: string, fail: (m: string) => never): number {
  let flags = 0;
  for (const f of arg.split(',').filter((x) => x !== '')) {
    if (f === 'flag-1') flags |= IP_VS_SVC_F_SCHED1;
    else if (f === 'flag-2') flags |= IP_VS_SVC_F_SCHED2;
    else if (f === 'flag-3') flags |= IP_VS_SVC_F_SCHED3;
    else if (f === 'sh-fallback' || f === 'sh-port') {
      if (sched !== 'sh') fail(`incompatible scheduler flag \`${f}'`);
      flags |= f === 'sh-fallback' ? IP_VS_SVC_F_SCHED1 : IP_VS_SVC_F_SCHED2;
    } else if (f === 'mh-fallback' || f === 'mh-port') {
      if (sched !== 'mh') fail(`incompatible scheduler flag \`${f}'`);
      flags |= f === 'mh-fallback' ? IP_VS_SVC_F_SCHED1 : IP_VS_SVC_F_SCHED2;
    } else fail(`invalid scheduler flag \`${f}'`);
  }
  return flags;
}

/** string_to_number: a whole decimal string in [min, max], else -1. */
function stringToNumber(s: string, min: number, max: number): number {
  if (!/^[+-]?[0-9]+$/.test(s)) return -1;
  const n = Number(s);
  return n >= min && n <= max ? n : -1;
}

/** parse_service: host[:port]; an address only, or address and port (a number or a service name). */
function parseServiceAddr(buf: string, protocol: number): { addr: Ipv4Addr; port: number | undefined } | undefined {
  if (buf === '' || /^[0-9]+$/.test(buf)) return undefined;
  const colon = buf.lastIndexOf(':');
  const host = colon >= 0 ? buf.slice(0, colon) : buf;
  const addr = inetAton(host);
  if (addr === undefined) return undefined;
  if (colon < 0) return { addr: addr as Ipv4Addr, port: undefined };
  const ps = buf.slice(colon + 1);
  let port = stringToNumber(ps, 0, 65535);
  if (port < 0) port = SERVICES_BY_NAME.get(`${ps}/${protocol === IPPROTO_UDP ? 'udp' : protocol === IPPROTO_SCTP ? 'sctp' : 'tcp'}`) ?? -1;
  if (port < 0) return undefined;
  return { addr: addr as Ipv4Addr, port };
}

/** inet_aton: 1 to 4 parts, each decimal, octal (0...) or hex (0x...); the last part fills the rest. */
export function inetAton(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) n = p.length === 1 ? 0 : parseInt(p.slice(1), 8);
    else if (/^[1-9][0-9]*$/.test(p)) n = Number(p);
    else return undefined;
    nums.push(n);
  }
  const last = nums.length - 1;
  for (let i = 0; i < last; i++) if (nums[i]! > 255) return undefined;
  const maxLast = [0xffffffff, 0xffffff, 0xffff, 0xff][last]!;
  if (nums[last]! > maxLast) return undefined;
  let v = 0;
  for (let i = 0; i < last; i++) v += nums[i]! * 2 ** (8 * (3 - i));
  return (v + nums[last]!) >>> 0;
}
