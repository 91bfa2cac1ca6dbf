import type { PacketCtx, TargetModule } from '../module.js';
import { param, parseUint, XT_CONTINUE } from '../module.js';
import { saveString } from '../argv.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, u16, u32 } from '../packet.js';

/** The packet part of a kernel log line, as nf_log_syslog.c dump_ipv4_packet (no options). */
export function describePacket(c: PacketCtx): string {
  const st = c.state;
  const p = c.packet;
  const b = p.buf;
  let t = `IN=${st.inDev ?? ''} OUT=${st.outDev ?? ''} `;
  if (st.physInDev) t += `PHYSIN=${st.physInDev} `;
  if (st.physOutDev) t += `PHYSOUT=${st.physOutDev} `;
  if (st.inDev !== null && p.mac >= 0 && p.network > p.mac) {
    const mac: string[] = [];
    for (let i = p.mac; i < p.network; i++) mac.push(b[i]!.toString(16).padStart(2, '0'));
    t += `MAC=${mac.join(':')} `;
  }
  const ip = c.ip;
  t += `SRC=${formatIpv4(ip.src)} DST=${formatIpv4(ip.dst)} LEN=${ip.totalLength} TOS=0x${(ip.tos & 0x1e).toString(16).padStart(2, '0').toUpperCase()} PREC=0x${(ip.tos & 0xe0).toString(16).padStart(2, '0').toUpperCase()} TTL=${ip.ttl} ID=${ip.id} `;
  if (ip.df) t += 'DF ';
  if (ip.moreFragments) t += 'MF ';
  if (ip.fragOffset) t += `FRAG:${ip.fragOffset} `;
  const l4 = ip.l4;
  if (ip.proto === IPPROTO_TCP) {
    t += 'PROTO=TCP ';
    if (ip.fragOffset) return t;
    if (ip.l4Len < 20) return `${t}INCOMPLETE [${ip.l4Len} bytes] `;
    const flags = b[l4 + 13]!;
    t += `SPT=${u16(b, l4)} DPT=${u16(b, l4 + 2)} WINDOW=${u16(b, l4 + 14)} RES=0x${((b[l4 + 12]! & 0x0f) >> 0).toString(16).padStart(2, '0')} `;
    for (const [bit, n] of [[0x80, 'CWR'], [0x40, 'ECE'], [0x20, 'URG'], [0x10, 'ACK'], [0x08, 'PSH'], [0x04, 'RST'], [0x02, 'SYN'], [0x01, 'FIN']] as const) if (flags & bit) t += `${n} `;
    t += `URGP=${u16(b, l4 + 18)} `;
  } else if (ip.proto === IPPROTO_UDP) {
    t += 'PROTO=UDP ';
    if (ip.fragOffset) return t;
    if (ip.l4Len < 8) return `${t}INCOMPLETE [${ip.l4Len} bytes] `;
    t += `SPT=${u16(b, l4)} DPT=${u16(b, l4 + 2)} LEN=${u16(b, l4 + 4)} `;
  } else if (ip.proto === IPPROTO_ICMP) {
    t += 'PROTO=ICMP ';
    if (ip.fragOffset) return t;
    if (ip.l4Len < 4) return `${t}INCOMPLETE [${ip.l4Len} bytes] `;
    const type = b[l4]!;
    t += `TYPE=${type} CODE=${b[l4 + 1]!} `;
    if ((type === 0 || type === 8) && ip.l4Len >= 8) t += `ID=${u16(b, l4 + 4)} SEQ=${u16(b, l4 + 6)} `;
    if (type === 3 && b[l4 + 1] === 4 && ip.l4Len >= 8) t += `MTU=${u16(b, l4 + 6)} `;
    if (type === 5 && ip.l4Len >= 8) t += `GATEWAY=${formatIpv4(u32(b, l4 + 4))} `;
  } else t += `PROTO=${ip.proto} `;
  return t;
}

const LEVELS = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];

interface LogSpec {
  level: number;
  prefix: string | undefined;
  flags: string[];
}

/** libxt_LOG / nf_log_syslog: the log line goes to the trace as an `nf.log` event. */
export const logTarget: TargetModule<LogSpec> = {
  name: 'LOG',
  options: { 'log-level': true, 'log-prefix': true, 'log-tcp-sequence': false, 'log-tcp-options': false, 'log-ip-options': false, 'log-uid': false, 'log-macdecode': false },
  create: () => ({ level: 4, prefix: undefined, flags: [] }),
  parse(s, opt, arg) {
    if (opt === 'log-level') {
      const i = LEVELS.indexOf(arg === 'warn' ? 'warning' : arg === 'panic' ? 'emerg' : arg === 'err' ? 'error' : arg);
      const n = i >= 0 ? i : parseUint(arg, 7);
      if (n === undefined) param(`log-level \`${arg}' unknown`);
      s.level = n;
    } else if (opt === 'log-prefix') {
      if (arg.length > 29) param('Maximum prefix length 29 for --log-prefix');
      s.prefix = arg;
    } else s.flags.push(opt);
  },
  final() {},
  save(s) {
    let t = '';
    if (s.prefix !== undefined) t += ` --log-prefix${saveString(s.prefix)}`;
    if (s.level !== 4) t += ` --log-level ${s.level}`;
    for (const f of ['log-tcp-sequence', 'log-tcp-options', 'log-ip-options', 'log-uid', 'log-macdecode']) if (s.flags.includes(f)) t += ` --${f}`;
    return t;
  },
  print: (s) => ` LOG flags 0 level ${s.level}${s.prefix !== undefined ? ` prefix "${s.prefix}"` : ''}`,
  compile(s, env) {
    const prefix = s.prefix ?? '';
    return (c) => {
      const sink = env.sink;
      if (sink) {
        const ns = c.state.netns;
        sink.record({ kind: 'nf.log', time: ns.now(), node: ns.node, netns: ns.netns, step: `${c.table}:LOG`, text: `${prefix}${describePacket(c)}` });
      }
      return XT_CONTINUE;
    };
  },
};

/** xt_TRACE: marks the packet (skb->nf_trace) so every later rule it meets is logged. */
export const traceTarget: TargetModule<Record<string, never>> = {
  name: 'TRACE',
  options: {},
  create: () => ({}),
  parse() {},
  final() {},
  save: () => '',
  compile(_s, env) {
    return (c) => {
      env.traced.add(c.packet);
      return XT_CONTINUE;
    };
  },
};
