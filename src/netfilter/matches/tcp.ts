import type { MatchModule, ParseCtx } from '../module.js';
import { param } from '../module.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../packet.js';
import { type PortRange, parsePortRange, savePortRange, inRange } from './ports.js';

/** libxt_tcp / xt_tcpudp.c: --sport, --dport, --tcp-flags, --syn. */
interface TcpSpec {
  spts: PortRange;
  dpts: PortRange;
  sInv: boolean;
  dInv: boolean;
  flagMask: number;
  flagCmp: number;
  flagInv: boolean;
  /** Options given so far, as bits (1 sport, 2 dport, 4 flags). */
  seen: number;
}

const FLAG_NAMES: readonly [string, number][] = [
  ['FIN', 0x01],
  ['SYN', 0x02],
  ['RST', 0x04],
  ['PSH', 0x08],
  ['ACK', 0x10],
  ['URG', 0x20],
];

function parseFlags(text: string): number {
  let v = 0;
  for (const f of text.split(',')) {
    if (f === 'ALL') v |= 0x3f;
    else if (f === 'NONE') continue;
    else {
      const e = FLAG_NAMES.find(([n]) => n === f);
      if (!e) param(`Unknown TCP flag \`${f}'`);
      v |= e[1];
    }
  }
  return v;
}

function saveFlags(v: number): string {
  if (v === 0) return 'NONE';
  return FLAG_NAMES.filter(([, b]) => (v & b) !== 0)
    .map(([n]) => n)
    .join(',');
}

function once(s: TcpSpec, bit: number, msg: string): void {
  if (s.seen & bit) param(msg);
  s.seen |= bit;
}

const FULL: PortRange = [0, 65535];

export const tcpMatch: MatchModule<TcpSpec> = {
  name: 'tcp',
  options: { sport: true, 'source-port': true, dport: true, 'destination-port': true, 'tcp-flags': true, syn: false },
  create: () => ({ spts: FULL, dpts: FULL, sInv: false, dInv: false, flagMask: 0, flagCmp: 0, flagInv: false, seen: 0 }),
  parse(s, opt, arg, inv) {
    switch (opt) {
      case 'sport':
      case 'source-port':
        once(s, 1, 'Only one `--source-port\' allowed');
        s.spts = parsePortRange(arg);
        s.sInv = inv;
        return;
      case 'dport':
      case 'destination-port':
        once(s, 2, 'Only one `--destination-port\' allowed');
        s.dpts = parsePortRange(arg);
        s.dInv = inv;
        return;
      case 'syn':
        once(s, 4, 'Only one of `--syn\' or `--tcp-flags\'  allowed');
        s.flagMask = 0x17;
        s.flagCmp = 0x02;
        s.flagInv = inv;
        return;
      case 'tcp-flags': {
        once(s, 4, 'Only one of `--syn\' or `--tcp-flags\'  allowed');
        const parts = arg.split(' ');
        if (parts.length !== 2) param('--tcp-flags requires two args.');
        s.flagMask = parseFlags(parts[0]!);
        s.flagCmp = parseFlags(parts[1]!);
        s.flagInv = inv;
        return;
      }
    }
  },
  final: (_s, pc) => protoCheck(pc, IPPROTO_TCP),
  save(s) {
    let t = '';
    if (s.spts[0] !== 0 || s.spts[1] !== 65535) t += `${s.sInv ? ' !' : ''} --sport ${savePortRange(s.spts)}`;
    if (s.dpts[0] !== 0 || s.dpts[1] !== 65535) t += `${s.dInv ? ' !' : ''} --dport ${savePortRange(s.dpts)}`;
    if (s.flagMask !== 0 || s.flagInv) t += `${s.flagInv ? ' !' : ''} --tcp-flags ${saveFlags(s.flagMask)} ${saveFlags(s.flagCmp)}`;
    return t;
  },
  print(s) {
    let t = ' tcp';
    t += printPorts('spt', s.spts, s.sInv) + printPorts('dpt', s.dpts, s.dInv);
    if (s.flagMask !== 0 || s.flagInv) t += ` flags:${s.flagInv ? '!' : ''}0x${hex2(s.flagMask)}/0x${hex2(s.flagCmp)}`;
    return t;
  },
  compile(s) {
    const { spts, dpts, sInv, dInv, flagMask, flagCmp, flagInv } = s;
    const anyS = spts[0] === 0 && spts[1] === 65535 && !sInv;
    const anyD = dpts[0] === 0 && dpts[1] === 65535 && !dInv;
    const [dlo, dhi] = dpts;
    if (anyS && flagMask === 0 && !flagInv && !dInv) {
      // The common kube-proxy shape (`-m tcp --dport N`): one range compare.
      return (c) => c.ip.proto === IPPROTO_TCP && c.dport >= dlo && c.dport <= dhi;
    }
    return (c) => {
      if (c.ip.proto !== IPPROTO_TCP || c.sport < 0) return false;
      if (!anyS && inRange(spts, c.sport) === sInv) return false;
      if (!anyD && inRange(dpts, c.dport) === dInv) return false;
      if (flagMask !== 0 || flagInv) {
        if (c.tcpFlags < 0) return false;
        if (((c.tcpFlags & flagMask) === flagCmp) === flagInv) return false;
      }
      return true;
    };
  },
};

/** libxt_udp: --sport, --dport. */
interface UdpSpec {
  spts: PortRange;
  dpts: PortRange;
  sInv: boolean;
  dInv: boolean;
  seen: number;
}

export const udpMatch: MatchModule<UdpSpec> = {
  name: 'udp',
  options: { sport: true, 'source-port': true, dport: true, 'destination-port': true },
  create: () => ({ spts: FULL, dpts: FULL, sInv: false, dInv: false, seen: 0 }),
  parse(s, opt, arg, inv) {
    if (opt === 'sport' || opt === 'source-port') {
      if (s.seen & 1) param('Only one `--source-port\' allowed');
      s.seen |= 1;
      s.spts = parsePortRange(arg);
      s.sInv = inv;
    } else {
      if (s.seen & 2) param('Only one `--destination-port\' allowed');
      s.seen |= 2;
      s.dpts = parsePortRange(arg);
      s.dInv = inv;
    }
  },
  final: (_s, pc) => protoCheck(pc, IPPROTO_UDP),
  save(s) {
    let t = '';
    if (s.spts[0] !== 0 || s.spts[1] !== 65535) t += `${s.sInv ? ' !' : ''} --sport ${savePortRange(s.spts)}`;
    if (s.dpts[0] !== 0 || s.dpts[1] !== 65535) t += `${s.dInv ? ' !' : ''} --dport ${savePortRange(s.dpts)}`;
    return t;
  },
  print: (s) => ` udp${printPorts('spt', s.spts, s.sInv)}${printPorts('dpt', s.dpts, s.dInv)}`,
  compile(s) {
    const { spts, dpts, sInv, dInv } = s;
    return (c) => {
      if (c.ip.proto !== IPPROTO_UDP || c.sport < 0) return false;
      if (inRange(spts, c.sport) === sInv) return false;
      if (inRange(dpts, c.dport) === dInv) return false;
      return true;
    };
  },
};

/** libxt_tcp print_ports: `spt:80`, `spts:1:2`, `dpt:!80`; nothing for the full range. */
function printPorts(name: string, r: PortRange, inv: boolean): string {
  if (r[0] === 0 && r[1] === 65535 && !inv) return '';
  const bang = inv ? '!' : '';
  return r[0] === r[1] ? ` ${name}:${bang}${r[0]}` : ` ${name}s:${bang}${r[0]}:${r[1]}`;
}

function hex2(v: number): string {
  return v.toString(16).toUpperCase().padStart(2, '0');
}

/** The kernel's tcp_mt_check / udp_mt_check: the rule's -p must be that protocol, not inverted. */
function protoCheck(pc: ParseCtx, proto: number): void {
  // iptables-nft refuses the match unless the rule's -p is that protocol.
  if (pc.proto !== proto || pc.protoInvert) param(proto === IPPROTO_TCP ? "TCP match requires '-p tcp'" : "UDP match requires '-p udp'");
}
