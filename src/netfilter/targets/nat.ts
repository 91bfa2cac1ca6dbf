import type { NatRange, TargetModule, ParseCtx } from '../module.js';
import { param } from '../module.js';
import { formatIpv4, parseIpv4 } from '../../wire/ipv4-address.js';
import { CommitError } from '../errors.js';
import { NF_ACCEPT, NF_DROP } from '../hooks.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP } from '../packet.js';
import { fastIpv4, fastUint } from '../addr.js';

/** libxt_DNAT/SNAT/MASQUERADE and the kernel's xt_nat / xt_MASQUERADE. */
interface NatSpec {
  range: NatRange | undefined;
  random: boolean;
  randomFully: boolean;
  persistent: boolean;
  text: string;
}

const PORT_PROTOS = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, 33, 136];

/** `ip[-ip][:port[-port]]` as parse_to in libxt_DNAT.c. */
function parseTo(arg: string, pc: ParseCtx, portsAllowed: boolean): NatRange {
  const colon = arg.indexOf(':');
  // The common `A.B.C.D:PORT` of kube-proxy's DNAT, read without regexes.
  if (colon > 0 && portsAllowed && !pc.protoInvert && PORT_PROTOS.includes(pc.proto) && arg.indexOf('-') < 0) {
    const ip = fastIpv4(arg, 0, colon);
    const port = fastUint(arg, colon + 1, arg.length, 65535);
    if (ip >= 0 && port > 0) return { mapIps: true, minIp: ip, maxIp: ip, protoSpecified: true, minPort: port, maxPort: port, random: false, randomFully: false, persistent: false };
  }
  const ipPart = colon < 0 ? arg : arg.slice(0, colon);
  let minPort = 0;
  let maxPort = 0;
  let protoSpecified = false;
  if (colon >= 0) {
    if (!portsAllowed || pc.protoInvert || !PORT_PROTOS.includes(pc.proto)) param('Need TCP, UDP, SCTP or DCCP with port specification');
    const ports = arg.slice(colon + 1);
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(ports);
    if (!m) param(`Port \`${ports}' not valid\n`);
    minPort = Number(m[1]);
    maxPort = m[2] !== undefined ? Number(m[2]) : minPort;
    if (minPort === 0 || minPort > 65535 || maxPort > 65535) param(`Port \`${ports}' not valid\n`);
    if (maxPort < minPort) param('Invalid port:port syntax - use dash\n');
    protoSpecified = true;
  }
  const dash = ipPart.indexOf('-');
  const ipOf = (t: string): number => {
    try {
      return parseIpv4(t);
    } catch {
      param(`Bad IP address "${t}"`);
    }
  };
  const flags = { random: false, randomFully: false, persistent: false };
  if (ipPart === '') return { mapIps: false, minIp: 0, maxIp: 0, protoSpecified, minPort, maxPort, ...flags };
  const minIp = ipOf(dash < 0 ? ipPart : ipPart.slice(0, dash));
  const maxIp = dash < 0 ? minIp : ipOf(ipPart.slice(dash + 1));
  if (maxIp < minIp) param(`Bad IP range "${ipPart}"\n`);
  return { mapIps: true, minIp, maxIp, protoSpecified, minPort, maxPort, ...flags };
}

function saveRange(r: NatRange): string {
  let t = '';
  if (r.mapIps) t += r.minIp === r.maxIp ? formatIpv4(r.minIp) : `${formatIpv4(r.minIp)}-${formatIpv4(r.maxIp)}`;
  if (r.protoSpecified) t += `:${r.minPort}${r.maxPort !== r.minPort ? `-${r.maxPort}` : ''}`;
  return t;
}

function withFlags(s: NatSpec): NatRange {
  const r = s.range!;
  if (r.random === s.random && r.randomFully === s.randomFully && r.persistent === s.persistent) return r;
  return { ...r, random: s.random, randomFully: s.randomFully, persistent: s.persistent };
}

/** The kernel's checkentry: nat table only, and only at the hooks of that manip. */
function natCheck(pc: ParseCtx, target: string, chains: readonly string[]): void {
  if (pc.table !== 'nat') throw new CommitError('', `RULE_APPEND failed (Invalid argument): rule in chain ${pc.chain}`);
  const builtins = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];
  if (builtins.includes(pc.chain) && !chains.includes(pc.chain)) throw new CommitError('', `RULE_APPEND failed (Invalid argument): rule in chain ${pc.chain}`);
  void target;
}

function natTarget(name: 'DNAT' | 'SNAT', opt: 'to-destination' | 'to-source', manip: 'DST' | 'SRC', chains: readonly string[]): TargetModule<NatSpec> {
  return {
    name,
    options: { [opt]: true, random: false, 'random-fully': false, persistent: false },
    create: () => ({ range: undefined, random: false, randomFully: false, persistent: false, text: '' }),
    parse(s, o, arg, _inv, pc) {
      if (o === opt) {
        if (s.range) param(`${name}: Multiple --${opt} not supported`);
        s.range = parseTo(arg, pc, true);
      } else if (o === 'random') s.random = true;
      else if (o === 'random-fully') s.randomFully = true;
      else s.persistent = true;
    },
    final(s, pc) {
      if (!s.range) param(`${name}: option "--${opt}" must be specified\n`);
      natCheck(pc, name, chains);
    },
    print(s) {
      let t = ` to:${saveRange(s.range!)}`;
      if (s.random) t += ' random';
      if (s.randomFully) t += ' random-fully';
      if (s.persistent) t += ' persistent';
      return t;
    },
    save(s) {
      let t = ` --${opt} ${saveRange(s.range!)}`;
      if (s.random) t += ' --random';
      if (s.randomFully) t += ' --random-fully';
      if (s.persistent) t += ' --persistent';
      return t;
    },
    compile(s, env) {
      const range = withFlags(s);
      return (c) => env.natSetup(c, range, manip);
    },
  };
}

export const dnatTarget = natTarget('DNAT', 'to-destination', 'DST', ['PREROUTING', 'OUTPUT']);
export const snatTarget = natTarget('SNAT', 'to-source', 'SRC', ['POSTROUTING', 'INPUT']);

/** MASQUERADE: SNAT to the out device's address chosen by inet_select_addr. */
export const masqueradeTarget: TargetModule<NatSpec> = {
  name: 'MASQUERADE',
  options: { 'to-ports': true, random: false, 'random-fully': false },
  create: () => ({ range: { mapIps: false, minIp: 0, maxIp: 0, protoSpecified: false, minPort: 0, maxPort: 0, random: false, randomFully: false, persistent: false }, random: false, randomFully: false, persistent: false, text: '' }),
  parse(s, o, arg, _inv, pc) {
    if (o === 'to-ports') {
      if (pc.protoInvert || !PORT_PROTOS.includes(pc.proto)) param('Need TCP, UDP, SCTP or DCCP with port specification');
      const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(arg);
      if (!m) param(`Port "${arg}" not valid\n`);
      const lo = Number(m[1]);
      const hi = m[2] !== undefined ? Number(m[2]) : lo;
      if (lo > 65535 || hi > 65535 || hi < lo) param(`Port "${arg}" not valid\n`);
      s.range = { ...s.range!, protoSpecified: true, minPort: lo, maxPort: hi };
    } else if (o === 'random') s.random = true;
    else s.randomFully = true;
  },
  final(_s, pc) {
    natCheck(pc, 'MASQUERADE', ['POSTROUTING']);
  },
  print(s) {
    let t = '';
    if (s.range!.protoSpecified) t += ` masq ports: ${s.range!.minPort}${s.range!.maxPort !== s.range!.minPort ? `-${s.range!.maxPort}` : ''}`;
    if (s.random) t += ' random';
    if (s.randomFully) t += ' random-fully';
    return t;
  },
  save(s) {
    let t = '';
    if (s.range!.protoSpecified) t += ` --to-ports ${s.range!.minPort}${s.range!.maxPort !== s.range!.minPort ? `-${s.range!.maxPort}` : ''}`;
    if (s.random) t += ' --random';
    if (s.randomFully) t += ' --random-fully';
    return t;
  },
  compile(s, env) {
    const base = withFlags(s);
    return (c) => {
      const out = c.state.outDev;
      const src = out === null ? undefined : c.state.netns.selectSourceAddress(out, c.ip.dst);
      // masquerade_tg: no usable address on the out device -> drop.
      if (src === undefined || src === 0) return NF_DROP;
      return env.natSetup(c, { ...base, mapIps: true, minIp: src, maxIp: src }, 'SRC');
    };
  },
};

/** REDIRECT: DNAT to the in-device's primary address (127.0.0.1 for locally generated). */
export const redirectTarget: TargetModule<NatSpec> = {
  ...masqueradeTarget,
  name: 'REDIRECT',
  options: { 'to-ports': true, random: false },
  final(_s, pc) {
    natCheck(pc, 'REDIRECT', ['PREROUTING', 'OUTPUT']);
  },
  print(s) {
    let t = '';
    if (s.range!.protoSpecified) t += ` redir ports ${s.range!.minPort}${s.range!.maxPort !== s.range!.minPort ? `-${s.range!.maxPort}` : ''}`;
    if (s.random) t += ' random';
    return t;
  },
  compile(s, env) {
    const base = withFlags(s);
    return (c) => {
      const inDev = c.state.inDev;
      const dst = inDev === null ? 0x7f000001 : c.state.netns.selectSourceAddress(inDev, c.ip.src);
      if (dst === undefined || dst === 0) return NF_DROP;
      return env.natSetup(c, { ...base, mapIps: true, minIp: dst, maxIp: dst }, 'DST');
    };
  },
};

export { NF_ACCEPT };
